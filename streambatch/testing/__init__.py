"""A local emulator of the providers' batch APIs, for tests and demos."""
