"""Legal consultation day pages: questions, the live queue and packet, records."""
