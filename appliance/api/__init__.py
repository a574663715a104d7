"""The node's HTTP and WebSocket API (aiohttp)."""
