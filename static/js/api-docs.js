// Renders the OpenAPI document with Redoc (served from our own static files) in the dashboard's colours.
document.addEventListener("DOMContentLoaded", () => {
  const container = document.getElementById("redoc");
  if (!container || typeof Redoc === "undefined") return;
  const sans = getComputedStyle(document.body).fontFamily;
  const mono = getComputedStyle(document.documentElement).getPropertyValue("--mono").trim() || "monospace";
  Redoc.init(container.dataset.specUrl, {
    expandResponses: "200,201,202",
    jsonSampleExpandLevel: 3,
    pathInMiddlePanel: true,
    sortTagsAlphabetically: false,
    theme: {
      colors: { primary: { main: "#5145e5" } },
      typography: {
        fontFamily: sans, fontSize: "14px", headings: { fontFamily: sans, fontWeight: "650" },
        code: { fontFamily: mono },
      },
      sidebar: { backgroundColor: "#f6f8fa", width: "240px" },
      rightPanel: { backgroundColor: "#1a1f36" },
    },
  }, container, () => container.setAttribute("aria-busy", "false"));
});
