{
  "targets": [
    {
      "target_name": "av_encoder",
      "sources": ["src/av_encoder.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11", "<!@(pkg-config --cflags libavcodec libavutil)"],
      "libraries": ["<!@(pkg-config --libs libavcodec libavutil)", "-lyuv"]
    }
  ]
}
