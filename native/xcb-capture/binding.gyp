{
  "targets": [
    {
      "target_name": "xcb_capture",
      "sources": ["src/xcb_capture.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "libraries": ["-lxcb", "-lxcb-shm", "-lxcb-damage", "-lxcb-xfixes", "-lyuv"]
    }
  ]
}
