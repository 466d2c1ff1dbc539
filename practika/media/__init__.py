"""FFmpeg knowledge for Practika. Nothing here imports Flask."""
