{
  "targets": [
    {
      "target_name": "gatehouse_relay",
      "sources": ["native/addon.c", "native/relay.c", "native/tls.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/addon.c", "native/relay.c", "native/tls.c"]}]]
    }
  ]
}
