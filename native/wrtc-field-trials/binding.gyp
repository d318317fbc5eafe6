{
  "targets": [
    {
      "target_name": "wrtc_field_trials",
      "sources": ["src/wrtc_field_trials.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "libraries": ["-ldl"]
    }
  ]
}
