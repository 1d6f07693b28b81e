"""Pages: Jinja2 templates, static assets and the handlers that render them.

The routes that reach these handlers are listed in `server.edge.routes`.
"""
