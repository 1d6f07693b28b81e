"""The online legal consultation day: questions, review, the packet, the live queue, answers."""
