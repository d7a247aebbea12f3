"""The edges: the only place files, sockets and the event loop are touched."""
