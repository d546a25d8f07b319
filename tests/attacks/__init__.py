"""The attack suite: every case an attacker would try, each refused with the right 4xx.

Each test would fail on a build with the hole it names (a token algorithm not pinned, an OTP not
bound to its action, a bill readable by a stranger, an operator object passed to a query...).
"""
