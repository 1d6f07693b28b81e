"""The media path: peers, what publishers send, the wall, the mix, encoders, fan-out, recording."""
