"""The signalling protocol: messages in, notices out, one coroutine per connection."""
