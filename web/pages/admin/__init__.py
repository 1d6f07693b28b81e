"""Administration pages: the directory, users, devices, the activity log, notice channels."""
