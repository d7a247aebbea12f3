"""The pure core: bytes and values in, bytes, values and decisions out.

Nothing here awaits, reads a clock, opens a file or a socket.
"""
