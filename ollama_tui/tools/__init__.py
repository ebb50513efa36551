"""Tools the model can call: MCP servers from the config, and the loop that runs a reply's
calls with the user's consent. No Textual here; the MCP SDK is imported when a server starts."""
