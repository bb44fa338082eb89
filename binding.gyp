{
  "targets": [
    {
      "target_name": "gatehouse_relay",
      "sources": ["native/addon.c", "native/relay.c", "native/tls.c", "native/memory.cc"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "cflags_c": ["-std=gnu11"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/addon.c", "native/relay.c", "native/tls.c", "native/memory.cc"]}]]
    }
  ]
}
