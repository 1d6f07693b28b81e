"""Residents' own channel: a site's QR code leads a resident to file an opinion or a legal
question without an account, keep a receipt code and follow the item to its result.

Front door: `codes` (site QR tokens), `receipts` (the resident's code), `intake` (filing),
`status` (what the resident sees), `feedback` (satisfaction), `limits` (rate limits),
`photos` (checked and re-encoded phone photos).
"""
