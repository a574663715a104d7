"""Finding nodes on the LAN: mDNS/DNS-SD announcement and browsing.

``records`` holds what is announced (pure); ``announce`` puts it on the air (python-zeroconf, or
nothing in-process where Avahi does it from a service file, see ``avahi``); ``browse`` lists
the nodes that answer.
"""
