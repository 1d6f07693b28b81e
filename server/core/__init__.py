"""The ground floor: settings, database, errors, clock, security, audit, jobs, shared types."""
