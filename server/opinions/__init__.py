"""The deputies' duty station: residents' opinion items, their life, supervision, figures."""
