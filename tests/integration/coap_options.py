"""The options of a CoAP message over UDP (RFC 7252 §3.1), for the test
members written in Python (group_member.py, hostile_member.py,
mc_member.py)."""


def options(msg, tkl):
    """(number, value) of each option of msg, whose token is tkl bytes."""
    i, num = 4 + tkl, 0
    while i < len(msg) and msg[i] != 0xFF:
        d, ln = msg[i] >> 4, msg[i] & 15
        i += 1
        if d == 13:
            d, i = msg[i] + 13, i + 1
        elif d == 14:
            d, i = (msg[i] << 8 | msg[i + 1]) + 269, i + 2
        if ln == 13:
            ln, i = msg[i] + 13, i + 1
        elif ln == 14:
            ln, i = (msg[i] << 8 | msg[i + 1]) + 269, i + 2
        num += d
        yield num, msg[i:i + ln]
        i += ln
