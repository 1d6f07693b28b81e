"""Who is who: users and roles, sign-in, device tokens, the street's directory, access rules."""
