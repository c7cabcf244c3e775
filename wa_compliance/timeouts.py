"""Every call the audit makes is bounded: an unreachable piece costs at most this."""

CONNECT_SECONDS = 5     # TCP/SSH/database/Docker connection set-up
COMMAND_SECONDS = 20    # one command on the host, one Docker API call, one query
