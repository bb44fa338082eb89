{
  "targets": [
    {
      "target_name": "gatehouse_relay",
      "sources": ["native/relay.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/relay.c"]}]]
    }
  ]
}
