"""Small MCP servers for tests, written with the official SDK and run over stdio."""
