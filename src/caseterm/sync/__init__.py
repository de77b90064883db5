"""Offline-first sync (DESIGN.md section 4): the wire models, the server's side of push
and pull, and the client that talks to it."""
