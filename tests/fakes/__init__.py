"""Local stand-ins for external platforms, speaking their documented protocols over loopback HTTP."""
