"""Usage: GET /usage and the Settings → Developer → Usage pages, from billing's rollups and wallet."""
