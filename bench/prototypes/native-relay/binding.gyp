{ "targets": [ { "target_name": "relay", "sources": [ "relay.c" ], "cflags": ["-O2"] } ] }
