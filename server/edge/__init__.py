"""The HTTP edge: routes, middlewares, JSON APIs, the room WebSocket; nothing below imports it."""
