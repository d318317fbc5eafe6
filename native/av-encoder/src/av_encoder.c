/*
 * The host agent's own video encoder (issue 12): libavcodec driven from a
 * libuv worker thread, so the agent's event loop, which also injects the
 * artist's input, never waits for a frame to encode.
 *
 *   libx264                           default, everywhere (ultrafast, zerolatency)
 *   h264_nvenc / hevc_nvenc / av1_nvenc   NVIDIA (p1, ull, zero delay)
 *   h264_vaapi / hevc_vaapi / av1_vaapi   Intel/AMD through VA-API (NV12 surfaces)
 *   h264_qsv / hevc_qsv / av1_qsv         Intel Quick Sync (NV12 in system memory)
 *   libsvtav1                         AV1 in software (preset 12, low delay)
 * Which of these a build of libavcodec has is what `encoders()` reports (the
 * Debian 12 build, ffmpeg 5.1, has no av1_nvenc/av1_vaapi/av1_qsv).
 *
 * Every encoder is set up for one frame in, one access unit out: no B-frames,
 * no look-ahead, no frame threads, and keyframes only when asked for (PLI) or
 * after a long GOP. H.264/HEVC come out as Annex-B with SPS/PPS (and VPS)
 * repeated before every IDR, so a receiver can start at any keyframe; AV1 comes
 * out as a temporal unit of OBUs (low-overhead format).
 *
 * One handle serves one call at a time: `encode` refuses while another is in
 * flight, `reconfigure` is stored and applied by the worker before the next
 * frame, and `close` during an encode frees everything once that encode has
 * finished. Errors are thrown JS Errors or rejected promises with a stable
 * `code` (ERR_AV_*) and libav's own words (what it logged while failing, e.g.
 * "Cannot load libcuda.so.1"), never an abort.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

#include <libyuv/convert_from.h>

#define ERR_LEN 768
/* What libav logs while one open/encode runs on a thread, kept for the error message. */
#define LOG_LEN 2048
#define MAX_SIDE 8192
#define MIN_SIDE 16
#define MAX_FPS 240
#define MIN_KBPS 50
#define MAX_KBPS 500000
#define MAX_THREADS 16
/* Software encoders get at most this many threads by default (x264 sliced threads: one slice each). */
#define DEFAULT_MAX_THREADS 8
#define MAX_GOP 1000000
/* Default GOP in seconds: long, since keyframes come on demand (PLI); a bounded value every encoder accepts. */
#define DEFAULT_GOP_SECONDS 300
#define DEFAULT_DEVICE "/dev/dri/renderD128"
#define DEVICE_LEN 256

typedef enum { FAM_X264, FAM_NVENC, FAM_VAAPI, FAM_QSV, FAM_SVTAV1 } Family;
typedef enum { KIND_H264, KIND_HEVC, KIND_AV1 } Kind;

typedef struct {
  const char *name;
  Family family;
  Kind kind;
} Candidate;

static const Candidate CANDIDATES[] = {
    {"libx264", FAM_X264, KIND_H264},      {"h264_nvenc", FAM_NVENC, KIND_H264}, {"h264_vaapi", FAM_VAAPI, KIND_H264},
    {"h264_qsv", FAM_QSV, KIND_H264},      {"hevc_nvenc", FAM_NVENC, KIND_HEVC}, {"hevc_vaapi", FAM_VAAPI, KIND_HEVC},
    {"hevc_qsv", FAM_QSV, KIND_HEVC},      {"libsvtav1", FAM_SVTAV1, KIND_AV1},  {"av1_nvenc", FAM_NVENC, KIND_AV1},
    {"av1_vaapi", FAM_VAAPI, KIND_AV1},    {"av1_qsv", FAM_QSV, KIND_AV1},
};
#define N_CANDIDATES (sizeof CANDIDATES / sizeof CANDIDATES[0])

static const char *FAMILY_NAMES[] = {"x264", "nvenc", "vaapi", "qsv", "svtav1"};
static const char *KIND_NAMES[] = {"h264", "hevc", "av1"};

/* ---- libav's log, captured per thread while we open or encode ---- */

typedef struct {
  char text[LOG_LEN];
  size_t len;
} LogSink;

static _Thread_local LogSink *tl_sink;

/*
 * libav reports *why* something failed only through av_log ("Cannot load
 * libcuda.so.1", "No VA display found for device ..."); the return code says
 * just "Generic error in an external library". While a call of ours runs on
 * a thread, what it logs at warning level or worse goes into that call's sink
 * and ends up in the error message. Anything else (x264's own threads, other
 * callers) goes to stderr at error level only: the agent logs through pino,
 * and libx264's per-open info lines are noise there.
 */
static void log_callback(void *avcl, int level, const char *fmt, va_list vl) {
  LogSink *sink = tl_sink;
  if (!sink) {
    if (level <= AV_LOG_ERROR) av_log_default_callback(avcl, level, fmt, vl);
    return;
  }
  if (level > AV_LOG_WARNING) return;
  char line[512];
  int print_prefix = 0;
  av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
  size_t n = strlen(line);
  if (sink->len + n + 1 >= LOG_LEN) n = LOG_LEN - sink->len - 1;
  memcpy(sink->text + sink->len, line, n);
  sink->len += n;
  sink->text[sink->len] = 0;
}

/* The captured lines, trimmed, deduplicated and joined with "; ". */
static void sink_summary(const LogSink *sink, char *out, size_t cap) {
  out[0] = 0;
  size_t used = 0;
  const char *p = sink->text;
  while (*p) {
    const char *end = strchr(p, '\n');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *q = p;
    while (n && (*q == ' ' || *q == '\t')) q++, n--;
    while (n && (q[n - 1] == ' ' || q[n - 1] == '.' || q[n - 1] == '\r')) n--;
    if (n) {
      char line[512];
      if (n >= sizeof line) n = sizeof line - 1;
      memcpy(line, q, n);
      line[n] = 0;
      if (!strstr(out, line)) {
        int w = snprintf(out + used, cap - used, "%s%s", used ? "; " : "", line);
        if (w < 0 || (size_t)w >= cap - used) return;
        used += (size_t)w;
      }
    }
    if (!end) break;
    p = end + 1;
  }
}

/* "<what>: <libav's log>: <error code text>" (the parts that exist). */
static void describe(char *err, const char *what, int averr, const LogSink *sink) {
  char logged[ERR_LEN];
  char code[AV_ERROR_MAX_STRING_SIZE] = {0};
  sink_summary(sink, logged, sizeof logged);
  if (averr < 0) av_strerror(averr, code, sizeof code);
  if (logged[0] && code[0])
    snprintf(err, ERR_LEN, "%s: %.600s (%s)", what, logged, code);
  else if (logged[0])
    snprintf(err, ERR_LEN, "%s: %.600s", what, logged);
  else if (code[0])
    snprintf(err, ERR_LEN, "%s: %s", what, code);
  else
    snprintf(err, ERR_LEN, "%s", what);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- settings and the encoder handle ---- */

typedef struct {
  const Candidate *cand;
  int width, height, fps;
  int64_t bitrate; /* bits per second */
  enum AVPixelFormat in_fmt; /* what encode() takes: YUV420P or YUV444P */
  int threads;
  int gop;
  int full_range;
  int bt709;
  char device[DEVICE_LEN];
} Settings;

/* A JS buffer an encoder still referenced after its call returned: kept alive until close. */
typedef struct Pin {
  napi_ref ref;
  struct Pin *next;
} Pin;

typedef struct {
  Settings s;
  AVCodecContext *ctx;
  AVBufferRef *hw_device;
  AVBufferRef *hw_frames;
  AVFrame *in;   /* the input as the encoder gets it (wraps the JS buffer, or our own copy) */
  AVFrame *nv12; /* VA-API/QSV: the I420 input converted to NV12 */
  AVFrame *hw;   /* VA-API: the surface it is uploaded to */
  AVPacket *pkt;
  int low_power;      /* -1: no such option; 0/1: what the open that worked used */
  int zero_copy;      /* hand the JS buffer itself to the encoder (it copies synchronously) */
  int dynamic_bitrate;
  char notes[ERR_LEN]; /* warnings libav gave while opening */
  /* From the stream's SPS once a keyframe came out (H.264/HEVC); else libav's own idea. */
  char profile[48];
  double level;
  int64_t last_pts;
  int have_pts;
  int64_t frames_in;   /* worker */
  int64_t packets_out; /* worker */
  /* Copies for info(), made on the main thread when an encode completes: the worker may be changing
   * the originals (and reopening ctx) while info() or reconfigure() run. */
  struct {
    int64_t bitrate, frames_in, packets_out;
    int zero_copy;
  } shown;
  _Atomic int64_t pending_bitrate; /* set by reconfigure, taken by the worker before the next frame */
  Pin *pins;
  int busy;
  int closed;
  int broken; /* written by the worker; read on the main thread only while no encode is in flight */
  char broken_why[ERR_LEN];
} Encoder;

static int is_hardware(const Encoder *e) { return e->s.cand->family != FAM_X264 && e->s.cand->family != FAM_SVTAV1; }

static int set_opt(AVCodecContext *ctx, const char *key, const char *value, int required, char *err) {
  int r = av_opt_set(ctx, key, value, AV_OPT_SEARCH_CHILDREN);
  if (r == AVERROR_OPTION_NOT_FOUND && !required) return 0;
  if (r < 0) {
    char code[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(r, code, sizeof code);
    snprintf(err, ERR_LEN, "%s: cannot set %s=%s (%s)", ctx->codec->name, key, value, code);
  }
  return r;
}

static int has_opt(AVCodecContext *ctx, const char *key) {
  return av_opt_find(ctx, key, NULL, 0, AV_OPT_SEARCH_CHILDREN) != NULL;
}

static void free_context(Encoder *e) { avcodec_free_context(&e->ctx); }

/*
 * Allocates and opens e->ctx with the per-encoder low-latency settings.
 * low_power: 1/0 for encoders that have the option, ignored otherwise.
 * On failure e->ctx is freed and err says why (libav's log included).
 */
static int open_context(Encoder *e, int low_power, char *err, LogSink *sink) {
  const Settings *s = &e->s;
  const AVCodec *codec = avcodec_find_encoder_by_name(s->cand->name);
  if (!codec) {
    snprintf(err, ERR_LEN, "%s is not in this build of libavcodec", s->cand->name);
    return AVERROR_ENCODER_NOT_FOUND;
  }
  AVCodecContext *ctx = avcodec_alloc_context3(codec);
  if (!ctx) {
    snprintf(err, ERR_LEN, "%s: out of memory", s->cand->name);
    return AVERROR(ENOMEM);
  }
  e->ctx = ctx;
  char v[64];
  int r = 0;

  ctx->width = s->width;
  ctx->height = s->height;
  ctx->time_base = (AVRational){1, s->fps};
  ctx->framerate = (AVRational){s->fps, 1};
  ctx->sample_aspect_ratio = (AVRational){1, 1};
  ctx->gop_size = s->gop;
  ctx->max_b_frames = 0;
  /* Constant bitrate with a one-frame VBV: a frame never takes longer than a frame time to send. */
  ctx->bit_rate = s->bitrate;
  ctx->rc_max_rate = s->bitrate;
  ctx->rc_buffer_size = (int)(s->bitrate / s->fps);
  /*
   * Colour as written into the VUI / sequence header. The capture converts
   * sRGB with libyuv's ARGBToI420/ARGBToI444 (BT.601 matrix, limited range),
   * so the default here is bt601 + limited; the primaries are BT.709's (sRGB
   * has BT.709 primaries) and the transfer is sRGB's (IEC 61966-2-1).
   */
  ctx->color_range = s->full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
  ctx->colorspace = s->bt709 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
  ctx->color_primaries = AVCOL_PRI_BT709;
  ctx->color_trc = AVCOL_TRC_IEC61966_2_1;
  /* libyuv's ARGBToI420 averages each 2x2 block: chroma sits at the centre, not MPEG-2's left.
   * (AV1's sequence header cannot say "centre"; SVT-AV1 refuses it.) */
  if (s->in_fmt == AV_PIX_FMT_YUV420P && s->cand->kind != KIND_AV1) ctx->chroma_sample_location = AVCHROMA_LOC_CENTER;
  /* No AV_CODEC_FLAG_GLOBAL_HEADER: parameter sets travel in-band, before every IDR. */

  switch (s->cand->family) {
    case FAM_X264:
      ctx->pix_fmt = s->in_fmt;
      ctx->thread_count = s->threads;
      /* Slice threads: each thread takes a slice of the same frame, so threads add no frames of delay
       * (frame threads would add one per thread). libx264's codec default thread_type is 0, which keeps
       * the zerolatency tune's choice; written out here so that never depends on a default. */
      ctx->thread_type = FF_THREAD_SLICE;
      if ((r = set_opt(ctx, "preset", "ultrafast", 1, err)) < 0) break;
      if ((r = set_opt(ctx, "tune", "zerolatency", 1, err)) < 0) break;
      /* High for 4:2:0 (Chromium decodes it when 42e01f is negotiated); 4:4:4 needs High 4:4:4 Predictive. */
      if ((r = set_opt(ctx, "profile", s->in_fmt == AV_PIX_FMT_YUV444P ? "high444" : "high", 1, err)) < 0) break;
      /* A keyframe we ask for (pict_type I) becomes an IDR, where a decoder can start. */
      if ((r = set_opt(ctx, "forced-idr", "1", 1, err)) < 0) break;
      if ((r = set_opt(ctx, "rc-lookahead", "0", 1, err)) < 0) break;
      /* zerolatency already implies most of these; written out so the stream does not depend on x264's
       * tune tables: no B-frames, no sync look-ahead, keyframes only on demand or at the GOP end (no
       * scene-cut IDRs on a desktop switch), SPS/PPS before every IDR, Annex-B start codes. */
      if ((r = set_opt(ctx, "x264-params", "bframes=0:sync-lookahead=0:scenecut=0:repeat-headers=1:annexb=1", 1, err)) < 0)
        break;
      break;

    case FAM_NVENC:
      ctx->pix_fmt = s->in_fmt;
      if ((r = set_opt(ctx, "preset", "p1", 1, err)) < 0) break;           /* fastest */
      if ((r = set_opt(ctx, "tune", "ull", 1, err)) < 0) break;            /* ultra-low latency */
      if ((r = set_opt(ctx, "zerolatency", "1", 1, err)) < 0) break;       /* no reordering delay */
      if ((r = set_opt(ctx, "delay", "0", 1, err)) < 0) break;             /* output as soon as encoded */
      if ((r = set_opt(ctx, "rc", "cbr", 1, err)) < 0) break;
      if ((r = set_opt(ctx, "forced-idr", "1", 1, err)) < 0) break;
      if ((r = set_opt(ctx, "rc-lookahead", "0", 0, err)) < 0) break;
      if ((r = set_opt(ctx, "b_ref_mode", "disabled", 0, err)) < 0) break;
      if (s->cand->kind == KIND_H264)
        r = set_opt(ctx, "profile", s->in_fmt == AV_PIX_FMT_YUV444P ? "high444p" : "high", 1, err);
      else if (s->cand->kind == KIND_HEVC)
        r = set_opt(ctx, "profile", s->in_fmt == AV_PIX_FMT_YUV444P ? "rext" : "main", 1, err);
      break;

    case FAM_VAAPI:
      ctx->pix_fmt = AV_PIX_FMT_VAAPI;
      ctx->hw_frames_ctx = av_buffer_ref(e->hw_frames);
      if (!ctx->hw_frames_ctx) {
        r = AVERROR(ENOMEM);
        snprintf(err, ERR_LEN, "%s: out of memory", s->cand->name);
        break;
      }
      if ((r = set_opt(ctx, "rc_mode", "CBR", 1, err)) < 0) break;
      /* One frame in the pipeline: the packet for a frame comes out of the call that sent it. */
      if ((r = set_opt(ctx, "async_depth", "1", 0, err)) < 0) break;
      if (has_opt(ctx, "low_power") && (r = set_opt(ctx, "low_power", low_power ? "1" : "0", 1, err)) < 0) break;
      if (s->cand->kind == KIND_H264 && (r = set_opt(ctx, "profile", "high", 0, err)) < 0) break;
      break;

    case FAM_QSV:
      /* System-memory NV12: the qsv encoders take it and upload it themselves (qsvenc.c submit_frame). */
      ctx->pix_fmt = AV_PIX_FMT_NV12;
      ctx->hw_device_ctx = av_buffer_ref(e->hw_device);
      if (!ctx->hw_device_ctx) {
        r = AVERROR(ENOMEM);
        snprintf(err, ERR_LEN, "%s: out of memory", s->cand->name);
        break;
      }
      if ((r = set_opt(ctx, "preset", "veryfast", 1, err)) < 0) break;
      if ((r = set_opt(ctx, "async_depth", "1", 1, err)) < 0) break;
      if ((r = set_opt(ctx, "forced_idr", "1", 1, err)) < 0) break;
      if ((r = set_opt(ctx, "look_ahead", "0", 0, err)) < 0) break;     /* h264_qsv only */
      if ((r = set_opt(ctx, "low_delay_brc", "1", 0, err)) < 0) break;  /* obey the frame size */
      if (has_opt(ctx, "low_power") && (r = set_opt(ctx, "low_power", low_power ? "1" : "0", 1, err)) < 0) break;
      break;

    case FAM_SVTAV1:
      /* Latency: ffmpeg 5.1's wrapper hands out at most one packet per frame sent and never waits
       * for SVT's pipeline, so packets come out three frames late here even in low-delay mode
       * (measured, 640x360 and 720p). A candidate for AV1 experiments, not for the default path. */
      ctx->pix_fmt = s->in_fmt;
      if ((r = set_opt(ctx, "preset", "12", 1, err)) < 0) break; /* the fastest preset in SVT-AV1 1.4 */
      /* pred-struct 1: low delay (no hidden/alt-ref frames, no reordering); bit_rate == rc_max_rate
       * selects CBR in ffmpeg's wrapper, the mode low delay supports; mbr=0 then clears the
       * maximum the wrapper also copies from rc_max_rate, which SVT-AV1 1.4 refuses unless it is
       * above the target ("Max Bitrate must be greater than Target Bitrate"): it is for capped CRF.
       * lp: SVT's thread count (the wrapper ignores thread_count in ffmpeg 5.1). */
      snprintf(v, sizeof v, "pred-struct=1:mbr=0:lp=%d", s->threads);
      if ((r = set_opt(ctx, "svtav1-params", v, 1, err)) < 0) break;
      break;
  }
  if (r >= 0) {
    r = avcodec_open2(ctx, codec, NULL);
    if (r < 0) describe(err, s->cand->name, r, sink);
  }
  if (r < 0) free_context(e);
  return r;
}

static int make_hw_context(Encoder *e, char *err, LogSink *sink) {
  const Settings *s = &e->s;
  int r;
  if (s->cand->family == FAM_VAAPI) {
    r = av_hwdevice_ctx_create(&e->hw_device, AV_HWDEVICE_TYPE_VAAPI, s->device, NULL, 0);
    if (r < 0) {
      char what[DEVICE_LEN + 64];
      snprintf(what, sizeof what, "%s: VA-API device %s", s->cand->name, s->device);
      describe(err, what, r, sink);
      return r;
    }
    e->hw_frames = av_hwframe_ctx_alloc(e->hw_device);
    if (!e->hw_frames) {
      snprintf(err, ERR_LEN, "%s: out of memory", s->cand->name);
      return AVERROR(ENOMEM);
    }
    AVHWFramesContext *fc = (AVHWFramesContext *)e->hw_frames->data;
    fc->format = AV_PIX_FMT_VAAPI;
    fc->sw_format = AV_PIX_FMT_NV12;
    fc->width = s->width;
    fc->height = s->height;
    /* 0: surfaces are allocated as needed (a fixed pool could run dry while the encoder still holds
     * the previous input as a reference); only QSV frame pools must be fixed, and QSV is fed NV12. */
    fc->initial_pool_size = 0;
    r = av_hwframe_ctx_init(e->hw_frames);
    if (r < 0) {
      describe(err, "VA-API NV12 surfaces", r, sink);
      return r;
    }
  } else if (s->cand->family == FAM_QSV) {
    /* The QSV device sits on a VA-API one on Linux; child_device names its DRM node. */
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "child_device", s->device, 0);
    r = av_hwdevice_ctx_create(&e->hw_device, AV_HWDEVICE_TYPE_QSV, "hw_any", opts, 0);
    av_dict_free(&opts);
    if (r < 0) {
      char what[DEVICE_LEN + 64];
      snprintf(what, sizeof what, "%s: QSV device on %s", s->cand->name, s->device);
      describe(err, what, r, sink);
      return r;
    }
  }
  return 0;
}

/* Frees everything the encoder holds except the struct and its pins (those need a napi env). */
static void release_encoder(Encoder *e) {
  free_context(e);
  av_buffer_unref(&e->hw_frames);
  av_buffer_unref(&e->hw_device);
  av_frame_free(&e->in);
  av_frame_free(&e->nv12);
  av_frame_free(&e->hw);
  av_packet_free(&e->pkt);
}

static void unpin_all(napi_env env, Encoder *e) {
  while (e->pins) {
    Pin *p = e->pins;
    e->pins = p->next;
    napi_delete_reference(env, p->ref);
    free(p);
  }
}

/* Opens the encoder described by e->s (worker thread). Everything is freed on failure. */
static int open_encoder(Encoder *e, char *err) {
  LogSink sink = {{0}, 0};
  tl_sink = &sink;
  int r = 0;
  const Family fam = e->s.cand->family;
  e->low_power = -1;
  e->in = av_frame_alloc();
  e->pkt = av_packet_alloc();
  if (!e->in || !e->pkt) {
    snprintf(err, ERR_LEN, "out of memory");
    r = AVERROR(ENOMEM);
    goto done;
  }
  if ((r = make_hw_context(e, err, &sink)) < 0) goto done;

  if (fam == FAM_VAAPI || fam == FAM_QSV) {
    /* Low-power (fixed-function) encoding is the fastest where the GPU has it, and refused where it
     * does not (older Intel, AMD): try it first, then the ordinary entry point. */
    char first[ERR_LEN] = {0};
    r = open_context(e, 1, first, &sink);
    if (r >= 0) {
      e->low_power = 1;
    } else {
      sink.len = 0;
      sink.text[0] = 0;
      r = open_context(e, 0, err, &sink);
      if (r >= 0) {
        e->low_power = 0;
        snprintf(e->notes, sizeof e->notes, "low_power=1 refused (%s)", first);
      } else {
        char second[ERR_LEN];
        snprintf(second, sizeof second, "%s", err);
        if (strcmp(first, second) == 0)
          snprintf(err, ERR_LEN, "%s", first);
        else
          snprintf(err, ERR_LEN, "low_power=1: %.360s; low_power=0: %.360s", first, second);
      }
    }
  } else {
    r = open_context(e, 0, err, &sink);
  }
  if (r < 0) goto done;
  if (!e->notes[0]) sink_summary(&sink, e->notes, sizeof e->notes);
  e->dynamic_bitrate = fam == FAM_X264 || fam == FAM_NVENC;
  /* These copy the input picture before the call that took it returns (x264_encoder_encode,
   * nvenc_upload_frame for system memory, svt_av1_enc_send_picture), which is why ffmpeg's own
   * wrappers unreference the frame as soon as that call returns: they can read the JS buffer in
   * place. Whether libavcodec kept a reference is checked after every frame all the same. */
  e->zero_copy = fam == FAM_X264 || fam == FAM_NVENC || fam == FAM_SVTAV1;
  if (fam == FAM_VAAPI || fam == FAM_QSV) {
    e->nv12 = av_frame_alloc();
    if (!e->nv12) {
      r = AVERROR(ENOMEM);
      snprintf(err, ERR_LEN, "out of memory");
      goto done;
    }
    e->nv12->format = AV_PIX_FMT_NV12;
    e->nv12->width = e->s.width;
    e->nv12->height = e->s.height;
    if ((r = av_frame_get_buffer(e->nv12, 32)) < 0) {
      describe(err, "NV12 frame", r, &sink);
      goto done;
    }
    if (fam == FAM_VAAPI && !(e->hw = av_frame_alloc())) {
      r = AVERROR(ENOMEM);
      snprintf(err, ERR_LEN, "out of memory");
      goto done;
    }
  }
  if (e->ctx->profile != FF_PROFILE_UNKNOWN) {
    const char *name = av_get_profile_name(e->ctx->codec, e->ctx->profile);
    if (name) snprintf(e->profile, sizeof e->profile, "%s", name);
  }
  if (e->ctx->level > 0) e->level = e->s.cand->kind == KIND_H264 ? e->ctx->level / 10.0 : e->ctx->level;
done:
  if (r < 0) release_encoder(e);
  tl_sink = NULL;
  return r;
}

/* ---- parameter sets: the profile and level actually in the stream ---- */

/* Copies up to `cap` bytes of RBSP (emulation-prevention bytes removed) from a NAL payload. */
static size_t rbsp(const uint8_t *p, size_t n, uint8_t *out, size_t cap) {
  size_t o = 0;
  int zeros = 0;
  for (size_t i = 0; i < n && o < cap; i++) {
    if (zeros >= 2 && p[i] == 3) {
      zeros = 0;
      continue;
    }
    zeros = p[i] == 0 ? zeros + 1 : 0;
    out[o++] = p[i];
  }
  return o;
}

static const char *h264_profile_name(int idc, int constraints) {
  switch (idc) {
    case 66: return (constraints & 0x40) ? "Constrained Baseline" : "Baseline";
    case 77: return "Main";
    case 88: return "Extended";
    case 100: return "High";
    case 110: return "High 10";
    case 122: return "High 4:2:2";
    case 244: return "High 4:4:4 Predictive";
    default: return NULL;
  }
}

static const char *hevc_profile_name(int idc) {
  switch (idc) {
    case 1: return "Main";
    case 2: return "Main 10";
    case 3: return "Main Still Picture";
    case 4: return "Rext";
    default: return NULL;
  }
}

/* Finds the SPS in an Annex-B access unit and reads its profile and level. 1 if found. */
static int parse_sps(Kind kind, const uint8_t *d, size_t n, char *profile, size_t cap, double *level) {
  for (size_t i = 0; i + 3 < n; i++) {
    if (!(d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1)) continue;
    const uint8_t *nal = d + i + 3;
    size_t left = n - i - 3;
    uint8_t b[16];
    if (kind == KIND_H264 && left >= 4 && (nal[0] & 0x1f) == 7) {
      size_t got = rbsp(nal + 1, left - 1, b, 3);
      if (got < 3) return 0;
      const char *name = h264_profile_name(b[0], b[1]);
      if (name) snprintf(profile, cap, "%s", name);
      else snprintf(profile, cap, "profile_idc %d", b[0]);
      *level = b[2] / 10.0;
      return 1;
    }
    if (kind == KIND_HEVC && left >= 3 && ((nal[0] >> 1) & 0x3f) == 33) {
      /* sps: vps_id(4) max_sub_layers(3) nesting(1), then profile_tier_level: space(2) tier(1) idc(5),
       * 32 compatibility flags, 48 constraint bits, general_level_idc. */
      size_t got = rbsp(nal + 2, left - 2, b, 13);
      if (got < 13) return 0;
      const char *name = hevc_profile_name(b[1] & 0x1f);
      if (name) snprintf(profile, cap, "%s", name);
      else snprintf(profile, cap, "profile_idc %d", b[1] & 0x1f);
      *level = b[12] / 30.0;
      return 1;
    }
  }
  return 0;
}

/* ---- encode (worker thread) ---- */

typedef struct {
  Encoder *enc;
  napi_async_work work;
  napi_deferred deferred;
  napi_ref handle_ref;
  napi_ref frame_ref;
  uint8_t *frame;
  size_t frame_len;
  int force_key;
  int64_t pts;
  /* results */
  uint8_t *out;
  size_t out_len, out_cap;
  int keyframe;
  int64_t out_pts;
  double encode_ms;
  double convert_ms;
  int pinned;   /* the encoder kept a reference to the JS buffer */
  int reopened; /* the encoder was opened again before this frame */
  char profile[48];
  double level;
  int have_sps;
  int failed;
  const char *code;
  char error[ERR_LEN];
} EncodeOp;

static void noop_free(void *opaque, uint8_t *data) {
  (void)opaque;
  (void)data;
}

static int append(EncodeOp *op, const uint8_t *data, size_t n) {
  if (op->out_len + n > op->out_cap) {
    size_t cap = op->out_cap ? op->out_cap * 2 : 64 * 1024;
    while (cap < op->out_len + n) cap *= 2;
    uint8_t *grown = realloc(op->out, cap);
    if (!grown) return -1;
    op->out = grown;
    op->out_cap = cap;
  }
  memcpy(op->out + op->out_len, data, n);
  op->out_len += n;
  return 0;
}

/* Plane layout of the JS buffer (I420 or I444, tightly packed). */
static void plane_layout(const Settings *s, uint8_t *base, uint8_t *data[3], int linesize[3]) {
  int cw = s->in_fmt == AV_PIX_FMT_YUV444P ? s->width : (s->width + 1) / 2;
  int ch = s->in_fmt == AV_PIX_FMT_YUV444P ? s->height : (s->height + 1) / 2;
  data[0] = base;
  data[1] = base + (size_t)s->width * s->height;
  data[2] = data[1] + (size_t)cw * ch;
  linesize[0] = s->width;
  linesize[1] = linesize[2] = cw;
}

static size_t frame_size(const Settings *s) {
  int cw = s->in_fmt == AV_PIX_FMT_YUV444P ? s->width : (s->width + 1) / 2;
  int ch = s->in_fmt == AV_PIX_FMT_YUV444P ? s->height : (s->height + 1) / 2;
  return (size_t)s->width * s->height + 2 * (size_t)cw * ch;
}

static void fail(EncodeOp *op, const char *code, const char *what, int averr, const LogSink *sink) {
  op->failed = 1;
  op->code = code;
  describe(op->error, what, averr, sink);
}

/* Opens e->ctx again with e->s on the same device; its next frame starts a new sequence (an IDR). */
static int reopen(Encoder *e, EncodeOp *op, LogSink *sink, const char *why) {
  free_context(e);
  char err[ERR_LEN];
  int r = open_context(e, e->low_power > 0, err, sink);
  if (r < 0) {
    op->failed = 1;
    op->code = "ERR_AV_ENCODE";
    snprintf(op->error, ERR_LEN, "reopening %.60s: %.680s", why, err);
    e->broken = 1;
    snprintf(e->broken_why, ERR_LEN, "%s", op->error);
  }
  return r;
}

/* A bitrate stored by reconfigure, applied before this frame. 0, or <0 with op failed. */
static int apply_pending_bitrate(Encoder *e, EncodeOp *op, LogSink *sink) {
  int64_t want = atomic_exchange(&e->pending_bitrate, 0);
  if (want <= 0 || want == e->s.bitrate) return 0;
  e->s.bitrate = want;
  if (e->dynamic_bitrate) {
    /* libx264's wrapper calls x264_encoder_reconfig and nvenc's calls nvEncReconfigureEncoder when
     * these differ from what they run with (reconfig_encoder in libx264.c / nvenc.c, ffmpeg 5.1). */
    e->ctx->bit_rate = want;
    e->ctx->rc_max_rate = want;
    e->ctx->rc_buffer_size = (int)(want / e->s.fps);
    return 0;
  }
  /* The others (VA-API, QSV and SVT-AV1 in ffmpeg 5.1) keep the rate they opened with: open them
   * again on the same device. The next frame is then an IDR with fresh parameter sets. */
  char why[64];
  snprintf(why, sizeof why, "at %lld kbps", (long long)(want / 1000));
  op->reopened = 1;
  return reopen(e, op, sink, why) < 0 ? -1 : 0;
}

static void encode_execute(napi_env env, void *data) {
  (void)env;
  EncodeOp *op = data;
  Encoder *e = op->enc;
  LogSink sink = {{0}, 0};
  tl_sink = &sink;
  double t0 = now_ms();
  int r;
  AVFrame *send = NULL;

  if (apply_pending_bitrate(e, op, &sink) < 0) goto out;

  const Family fam = e->s.cand->family;
  /* SVT-AV1 1.4 takes no forced key frame in low-delay CBR ("Force key frame is only supported
   * with RA CRF/CQP mode"): a new sequence, which starts with one, answers the request instead.
   * (Frames still in SVT's pipeline are dropped; see the latency note in open_context.) */
  if (fam == FAM_SVTAV1 && op->force_key && e->frames_in > 0 && !op->reopened && reopen(e, op, &sink, "for a key frame") < 0)
    goto out;
  if (fam == FAM_VAAPI || fam == FAM_QSV) {
    /* The encoder may still hold the last NV12 frame (qsv references aligned input): then this
     * allocates a fresh one instead of writing under it. */
    if ((r = av_frame_make_writable(e->nv12)) < 0) {
      fail(op, "ERR_AV_ENCODE", "NV12 frame", r, &sink);
      goto out;
    }
    uint8_t *p[3];
    int ls[3];
    plane_layout(&e->s, op->frame, p, ls);
    if (I420ToNV12(p[0], ls[0], p[1], ls[1], p[2], ls[2], e->nv12->data[0], e->nv12->linesize[0], e->nv12->data[1],
                   e->nv12->linesize[1], e->s.width, e->s.height) != 0) {
      fail(op, "ERR_AV_ENCODE", "I420 to NV12 (libyuv) failed", 0, &sink);
      goto out;
    }
    send = e->nv12;
    if (fam == FAM_VAAPI) {
      av_frame_unref(e->hw);
      if ((r = av_hwframe_get_buffer(e->hw_frames, e->hw, 0)) < 0) {
        fail(op, "ERR_AV_ENCODE", "VA-API surface", r, &sink);
        goto out;
      }
      if ((r = av_hwframe_transfer_data(e->hw, e->nv12, 0)) < 0) {
        fail(op, "ERR_AV_ENCODE", "upload to the VA-API surface", r, &sink);
        goto out;
      }
      send = e->hw;
    }
  } else if (e->zero_copy) {
    av_frame_unref(e->in);
    e->in->format = e->s.in_fmt;
    e->in->width = e->s.width;
    e->in->height = e->s.height;
    e->in->buf[0] = av_buffer_create(op->frame, op->frame_len, noop_free, NULL, AV_BUFFER_FLAG_READONLY);
    if (!e->in->buf[0]) {
      fail(op, "ERR_AV_ENCODE", "out of memory", AVERROR(ENOMEM), &sink);
      goto out;
    }
    plane_layout(&e->s, op->frame, e->in->data, e->in->linesize);
    send = e->in;
  } else {
    /* Our own copy (after an encoder was seen keeping the JS buffer). */
    if (!e->in->buf[0] || e->in->format != e->s.in_fmt) {
      av_frame_unref(e->in);
      e->in->format = e->s.in_fmt;
      e->in->width = e->s.width;
      e->in->height = e->s.height;
      if ((r = av_frame_get_buffer(e->in, 32)) < 0) {
        fail(op, "ERR_AV_ENCODE", "input frame", r, &sink);
        goto out;
      }
    }
    if ((r = av_frame_make_writable(e->in)) < 0) {
      fail(op, "ERR_AV_ENCODE", "input frame", r, &sink);
      goto out;
    }
    uint8_t *p[4] = {0};
    int ls[4] = {0};
    plane_layout(&e->s, op->frame, p, ls);
    av_image_copy(e->in->data, e->in->linesize, (const uint8_t **)p, ls, e->s.in_fmt, e->s.width, e->s.height);
    send = e->in;
  }
  send->pts = op->pts;
  /* A forced keyframe: pict_type I (with forced-idr an IDR, SPS/PPS in front), flagged key as well. */
  send->pict_type = op->force_key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
  send->key_frame = op->force_key;
  double t1 = now_ms();
  op->convert_ms = t1 - t0;

  r = avcodec_send_frame(e->ctx, send);
  int sent = r >= 0;
  for (;;) {
    if (r < 0 && r != AVERROR(EAGAIN)) {
      fail(op, "ERR_AV_ENCODE", "avcodec_send_frame", r, &sink);
      break;
    }
    int got = avcodec_receive_packet(e->ctx, e->pkt);
    if (got == AVERROR(EAGAIN) || got == AVERROR_EOF) {
      if (sent) break;
      /* The encoder was full (it should never be, we drain after every frame): try once more. */
      r = avcodec_send_frame(e->ctx, send);
      if (r < 0) {
        fail(op, "ERR_AV_ENCODE", "avcodec_send_frame", r, &sink);
        break;
      }
      sent = 1;
      continue;
    }
    if (got < 0) {
      fail(op, "ERR_AV_ENCODE", "avcodec_receive_packet", got, &sink);
      break;
    }
    if (op->out_len == 0) op->out_pts = e->pkt->pts;
    if (e->pkt->flags & AV_PKT_FLAG_KEY) op->keyframe = 1;
    int grown = append(op, e->pkt->data, (size_t)e->pkt->size);
    av_packet_unref(e->pkt);
    e->packets_out++;
    if (grown < 0) {
      fail(op, "ERR_AV_ENCODE", "out of memory for the packet", AVERROR(ENOMEM), &sink);
      break;
    }
  }
  op->encode_ms = now_ms() - t1;
  if (send == e->hw) av_frame_unref(e->hw);
  if (send == e->in && e->zero_copy) {
    /* Ours is the only reference left unless the encoder kept the frame: then the JS buffer must
     * outlive this call (pinned until close) and later frames are copied. */
    if (av_buffer_get_ref_count(e->in->buf[0]) > 1) {
      op->pinned = 1;
      e->zero_copy = 0;
    }
    av_frame_unref(e->in);
  }
  if (!op->failed) {
    e->frames_in++;
    if (op->keyframe && e->s.cand->kind != KIND_AV1)
      op->have_sps = parse_sps(e->s.cand->kind, op->out, op->out_len, op->profile, sizeof op->profile, &op->level);
  }
out:
  if (!op->out_len) op->out_pts = op->pts;
  tl_sink = NULL;
}

static void set_number(napi_env env, napi_value obj, const char *key, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  napi_set_named_property(env, obj, key, v);
}

static void set_bool(napi_env env, napi_value obj, const char *key, int value) {
  napi_value v;
  napi_get_boolean(env, value, &v);
  napi_set_named_property(env, obj, key, v);
}

static void set_string(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  if (value)
    napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
  else
    napi_get_null(env, &v);
  napi_set_named_property(env, obj, key, v);
}

static napi_value make_error(napi_env env, const char *code, const char *message) {
  napi_value c, m, error;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, c, m, &error);
  return error;
}

static void destroy_encoder(napi_env env, Encoder *e) {
  release_encoder(e);
  unpin_all(env, e);
}

static void encode_complete(napi_env env, napi_status status, void *data) {
  EncodeOp *op = data;
  Encoder *e = op->enc;
  e->busy = 0;
  if (status != napi_ok && !op->failed) {
    op->failed = 1;
    op->code = "ERR_AV_ENCODE";
    snprintf(op->error, ERR_LEN, "encode work was cancelled");
  }
  if (op->have_sps) {
    snprintf(e->profile, sizeof e->profile, "%s", op->profile);
    e->level = op->level;
  }
  e->shown.bitrate = e->s.bitrate;
  e->shown.frames_in = e->frames_in;
  e->shown.packets_out = e->packets_out;
  e->shown.zero_copy = e->zero_copy;
  if (op->failed) {
    napi_reject_deferred(env, op->deferred, make_error(env, op->code, op->error));
  } else {
    napi_value result, buf;
    napi_create_object(env, &result);
    if (op->out_len) {
      /* A copy, not an external buffer: Electron's V8 sandbox refuses external buffers. */
      napi_create_buffer_copy(env, op->out_len, op->out, NULL, &buf);
    } else {
      napi_get_null(env, &buf);
    }
    napi_set_named_property(env, result, "data", buf);
    set_bool(env, result, "keyframe", op->keyframe);
    set_number(env, result, "encodeMs", op->encode_ms);
    set_number(env, result, "convertMs", op->convert_ms);
    set_number(env, result, "pts", (double)op->out_pts);
    napi_resolve_deferred(env, op->deferred, result);
  }
  Pin *pin = NULL;
  if (op->pinned && (pin = malloc(sizeof *pin)) != NULL) {
    pin->ref = op->frame_ref;
    pin->next = e->pins;
    e->pins = pin;
  } else {
    /* (Were malloc to fail for a pin, leaking the reference keeps the buffer alive just as well.) */
    if (!op->pinned) napi_delete_reference(env, op->frame_ref);
  }
  if (e->closed) destroy_encoder(env, e);
  napi_delete_reference(env, op->handle_ref);
  napi_delete_async_work(env, op->work);
  free(op->out);
  free(op);
}

/* ---- open (worker thread) ---- */

typedef struct {
  Encoder *enc;
  napi_async_work work;
  napi_deferred deferred;
  int failed;
  char error[ERR_LEN];
} OpenOp;

static void open_execute(napi_env env, void *data) {
  (void)env;
  OpenOp *op = data;
  if (open_encoder(op->enc, op->error) < 0) op->failed = 1;
}

static void finalize_encoder(napi_env env, void *data, void *hint) {
  (void)hint;
  Encoder *e = data;
  destroy_encoder(env, e);
  free(e);
}

static void open_complete(napi_env env, napi_status status, void *data) {
  OpenOp *op = data;
  if (status != napi_ok && !op->failed) {
    release_encoder(op->enc);
    op->failed = 1;
    snprintf(op->error, ERR_LEN, "open work was cancelled");
  }
  napi_value handle;
  if (!op->failed && napi_create_external(env, op->enc, finalize_encoder, NULL, &handle) != napi_ok) {
    release_encoder(op->enc);
    op->failed = 1;
    snprintf(op->error, ERR_LEN, "cannot create the encoder handle");
  }
  if (!op->failed) {
    op->enc->shown.bitrate = op->enc->s.bitrate;
    op->enc->shown.zero_copy = op->enc->zero_copy;
  }
  if (op->failed) {
    free(op->enc);
    napi_reject_deferred(env, op->deferred, make_error(env, "ERR_AV_OPEN", op->error));
  } else {
    napi_resolve_deferred(env, op->deferred, handle);
  }
  napi_delete_async_work(env, op->work);
  free(op);
}

/* ---- JavaScript entry points ---- */

#define THROW(env, code, msg)                  \
  do {                                         \
    napi_throw((env), make_error((env), (code), (msg))); \
    return NULL;                               \
  } while (0)

static Encoder *unwrap(napi_env env, napi_value value) {
  void *data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external) return NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return data;
}

/* 1 if obj has `key` set to something other than undefined. */
static int has_prop(napi_env env, napi_value obj, const char *key, napi_value *out) {
  napi_valuetype type;
  if (napi_get_named_property(env, obj, key, out) != napi_ok) return 0;
  if (napi_typeof(env, *out, &type) != napi_ok) return 0;
  return type != napi_undefined;
}

/* Reads an integer option; 0 if absent (out untouched), -1 if not an integer in [lo, hi]. */
static int get_int_opt(napi_env env, napi_value obj, const char *key, int64_t lo, int64_t hi, int64_t *out) {
  napi_value v;
  if (!has_prop(env, obj, key, &v)) return 0;
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d != (double)(int64_t)d || d < (double)lo || d > (double)hi) return -1;
  *out = (int64_t)d;
  return 1;
}

/* Reads a string option; 0 if absent, -1 if not a string (or too long). */
static int get_str_opt(napi_env env, napi_value obj, const char *key, char *out, size_t cap) {
  napi_value v;
  if (!has_prop(env, obj, key, &v)) return 0;
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len + 1 > cap) return -1;
  napi_get_value_string_utf8(env, v, out, cap, &len);
  return 1;
}

/* encoders(): the candidate names this libavcodec build has, in the table's order. */
static napi_value js_encoders(napi_env env, napi_callback_info info) {
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t n = 0;
  for (size_t i = 0; i < N_CANDIDATES; i++) {
    if (!avcodec_find_encoder_by_name(CANDIDATES[i].name)) continue;
    napi_value name;
    napi_create_string_utf8(env, CANDIDATES[i].name, NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, arr, n++, name);
  }
  return arr;
}

/*
 * open({ codec, width, height, fps, bitrateKbps, pixelFormat?, threads?, gopFrames?, colour?, device? }): Promise<handle>
 * Asynchronous: creating a CUDA context or loading a VA driver takes long enough (100s of ms on a
 * real GPU) to be felt by the input the event loop injects meanwhile.
 */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype type = napi_undefined;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_object)
    THROW(env, "ERR_AV_ARGS", "open(options): options must be an object");
  napi_value o = argv[0];
  char msg[ERR_LEN];
  Settings s;
  memset(&s, 0, sizeof s);

  char codec[64] = {0};
  if (get_str_opt(env, o, "codec", codec, sizeof codec) != 1) THROW(env, "ERR_AV_ARGS", "open: codec must be an encoder name, e.g. \"libx264\"");
  for (size_t i = 0; i < N_CANDIDATES; i++)
    if (strcmp(CANDIDATES[i].name, codec) == 0) s.cand = &CANDIDATES[i];
  if (!s.cand) {
    char names[ERR_LEN / 2] = {0};
    size_t used = 0;
    for (size_t i = 0; i < N_CANDIDATES && used < sizeof names; i++)
      used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", CANDIDATES[i].name);
    snprintf(msg, ERR_LEN, "open: unsupported encoder \"%s\" (one of: %s)", codec, names);
    THROW(env, "ERR_AV_ARGS", msg);
  }
  if (!avcodec_find_encoder_by_name(codec)) {
    snprintf(msg, ERR_LEN, "open: %s is not in this build of libavcodec (%s)", codec, LIBAVCODEC_IDENT);
    THROW(env, "ERR_AV_UNAVAILABLE", msg);
  }

  int64_t w = 0, h = 0, fps = 0, kbps = 0, threads = -1, gop = 0;
  if (get_int_opt(env, o, "width", MIN_SIDE, MAX_SIDE, &w) != 1 || get_int_opt(env, o, "height", MIN_SIDE, MAX_SIDE, &h) != 1) {
    snprintf(msg, ERR_LEN, "open: width and height must be integers from %d to %d", MIN_SIDE, MAX_SIDE);
    THROW(env, "ERR_AV_ARGS", msg);
  }
  if (get_int_opt(env, o, "fps", 1, MAX_FPS, &fps) != 1) {
    snprintf(msg, ERR_LEN, "open: fps must be an integer from 1 to %d", MAX_FPS);
    THROW(env, "ERR_AV_ARGS", msg);
  }
  if (get_int_opt(env, o, "bitrateKbps", MIN_KBPS, MAX_KBPS, &kbps) != 1) {
    snprintf(msg, ERR_LEN, "open: bitrateKbps must be an integer from %d to %d", MIN_KBPS, MAX_KBPS);
    THROW(env, "ERR_AV_ARGS", msg);
  }
  if (get_int_opt(env, o, "threads", 0, MAX_THREADS, &threads) < 0) {
    snprintf(msg, ERR_LEN, "open: threads must be an integer from 0 (automatic) to %d", MAX_THREADS);
    THROW(env, "ERR_AV_ARGS", msg);
  }
  if (get_int_opt(env, o, "gopFrames", 1, MAX_GOP, &gop) < 0) {
    snprintf(msg, ERR_LEN, "open: gopFrames must be an integer from 1 to %d", MAX_GOP);
    THROW(env, "ERR_AV_ARGS", msg);
  }
  char pixfmt[16] = "yuv420p";
  if (get_str_opt(env, o, "pixelFormat", pixfmt, sizeof pixfmt) < 0 || (strcmp(pixfmt, "yuv420p") && strcmp(pixfmt, "yuv444p")))
    THROW(env, "ERR_AV_ARGS", "open: pixelFormat must be \"yuv420p\" or \"yuv444p\"");
  s.in_fmt = strcmp(pixfmt, "yuv444p") == 0 ? AV_PIX_FMT_YUV444P : AV_PIX_FMT_YUV420P;
  if (s.in_fmt == AV_PIX_FMT_YUV420P && ((w & 1) || (h & 1))) THROW(env, "ERR_AV_ARGS", "open: 4:2:0 needs an even width and height");
  if (s.in_fmt == AV_PIX_FMT_YUV444P &&
      (s.cand->family == FAM_VAAPI || s.cand->family == FAM_QSV || s.cand->family == FAM_SVTAV1 || s.cand->kind == KIND_AV1)) {
    snprintf(msg, ERR_LEN, "open: %s encodes 4:2:0 only here (yuv444p needs libx264, h264_nvenc or hevc_nvenc)", codec);
    THROW(env, "ERR_AV_ARGS", msg);
  }

  napi_value colour;
  if (has_prop(env, o, "colour", &colour)) {
    napi_valuetype ct;
    char range[16] = "limited", matrix[16] = "bt601";
    if (napi_typeof(env, colour, &ct) != napi_ok || ct != napi_object || get_str_opt(env, colour, "range", range, sizeof range) < 0 ||
        get_str_opt(env, colour, "matrix", matrix, sizeof matrix) < 0 || (strcmp(range, "limited") && strcmp(range, "full")) ||
        (strcmp(matrix, "bt601") && strcmp(matrix, "bt709")))
      THROW(env, "ERR_AV_ARGS", "open: colour must be { range: \"limited\" | \"full\", matrix: \"bt601\" | \"bt709\" }");
    s.full_range = strcmp(range, "full") == 0;
    s.bt709 = strcmp(matrix, "bt709") == 0;
  }
  snprintf(s.device, sizeof s.device, "%s", DEFAULT_DEVICE);
  if (get_str_opt(env, o, "device", s.device, sizeof s.device) < 0) THROW(env, "ERR_AV_ARGS", "open: device must be a path such as /dev/dri/renderD128");

  s.width = (int)w;
  s.height = (int)h;
  s.fps = (int)fps;
  s.bitrate = kbps * 1000;
  s.gop = gop > 0 ? (int)gop : s.fps * DEFAULT_GOP_SECONDS;
  if (threads < 0) threads = 0;
  if (threads == 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    threads = cpus < 1 ? 1 : cpus > DEFAULT_MAX_THREADS ? DEFAULT_MAX_THREADS : cpus;
  }
  s.threads = (s.cand->family == FAM_X264 || s.cand->family == FAM_SVTAV1) ? (int)threads : 0;

  /* SVT-AV1 prints its whole configuration to stderr at every open unless SVT_LOG says otherwise:
   * errors only, unless the operator set it. */
  if (s.cand->family == FAM_SVTAV1) setenv("SVT_LOG", "1", 0);

  Encoder *e = calloc(1, sizeof *e);
  OpenOp *op = calloc(1, sizeof *op);
  if (!e || !op) {
    free(e);
    free(op);
    THROW(env, "ERR_AV_OPEN", "out of memory");
  }
  e->s = s;
  atomic_init(&e->pending_bitrate, 0);
  op->enc = e;
  napi_value promise, name;
  napi_create_promise(env, &op->deferred, &promise);
  napi_create_string_utf8(env, "backlot:av-encoder-open", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, open_execute, open_complete, op, &op->work);
  if (napi_queue_async_work(env, op->work) != napi_ok) {
    napi_delete_async_work(env, op->work);
    napi_reject_deferred(env, op->deferred, make_error(env, "ERR_AV_OPEN", "could not queue the open"));
    free(e);
    free(op);
  }
  return promise;
}

/*
 * encode(handle, frame: Uint8Array, { forceKeyframe?, pts }): Promise<{ data, keyframe, encodeMs, convertMs, pts }>
 * One frame in, whatever the encoder has ready out (null data when it has nothing yet).
 */
static napi_value js_encode(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Encoder *e = argc ? unwrap(env, argv[0]) : NULL;
  if (!e) THROW(env, "ERR_AV_ARGS", "encode(handle, frame, options): not an encoder handle");
  if (e->closed) THROW(env, "ERR_AV_CLOSED", "encode: the encoder is closed");
  if (e->busy) THROW(env, "ERR_AV_BUSY", "encode: an encode is already in flight on this handle (await it first)");
  if (e->broken) THROW(env, "ERR_AV_BROKEN", e->broken_why);
  bool is_typed = false;
  napi_typedarray_type ta_type = napi_int8_array;
  size_t length = 0;
  void *buf = NULL;
  if (argc < 2 || napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed) THROW(env, "ERR_AV_ARGS", "encode: frame must be a Uint8Array");
  napi_get_typedarray_info(env, argv[1], &ta_type, &length, &buf, NULL, NULL);
  if (ta_type != napi_uint8_array) THROW(env, "ERR_AV_ARGS", "encode: frame must be a Uint8Array");
  size_t want = frame_size(&e->s);
  if (length != want) {
    char msg[ERR_LEN];
    snprintf(msg, ERR_LEN, "encode: frame is %zu bytes, but one %dx%d %s frame is %zu", length, e->s.width, e->s.height,
             e->s.in_fmt == AV_PIX_FMT_YUV444P ? "I444" : "I420", want);
    THROW(env, "ERR_AV_FRAME_SIZE", msg);
  }
  napi_valuetype ot = napi_undefined;
  if (argc < 3 || napi_typeof(env, argv[2], &ot) != napi_ok || ot != napi_object)
    THROW(env, "ERR_AV_ARGS", "encode: options must be { forceKeyframe?: boolean, pts: integer }");
  int64_t pts = 0;
  if (get_int_opt(env, argv[2], "pts", 0, (int64_t)1 << 52, &pts) != 1)
    THROW(env, "ERR_AV_ARGS", "encode: pts must be a non-negative integer");
  if (e->have_pts && pts <= e->last_pts) {
    char msg[ERR_LEN];
    snprintf(msg, ERR_LEN, "encode: pts %lld does not follow the previous frame's %lld (pts must increase)", (long long)pts,
             (long long)e->last_pts);
    THROW(env, "ERR_AV_ARGS", msg);
  }
  bool force = false;
  napi_value fv;
  if (has_prop(env, argv[2], "forceKeyframe", &fv) && napi_get_value_bool(env, fv, &force) != napi_ok)
    THROW(env, "ERR_AV_ARGS", "encode: forceKeyframe must be a boolean");

  EncodeOp *op = calloc(1, sizeof *op);
  if (!op) THROW(env, "ERR_AV_ENCODE", "out of memory");
  op->enc = e;
  op->frame = buf;
  op->frame_len = length;
  op->force_key = force;
  op->pts = pts;
  /* The worker reads the JS buffer (or hands it to the encoder): hold it until the work completes. */
  napi_create_reference(env, argv[0], 1, &op->handle_ref);
  napi_create_reference(env, argv[1], 1, &op->frame_ref);
  napi_value promise, name;
  napi_create_promise(env, &op->deferred, &promise);
  napi_create_string_utf8(env, "backlot:av-encoder", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, encode_execute, encode_complete, op, &op->work);
  e->busy = 1;
  if (napi_queue_async_work(env, op->work) != napi_ok) {
    e->busy = 0;
    napi_delete_reference(env, op->frame_ref);
    napi_delete_reference(env, op->handle_ref);
    napi_delete_async_work(env, op->work);
    free(op);
    THROW(env, "ERR_AV_ENCODE", "encode: could not queue the frame");
  }
  e->last_pts = pts;
  e->have_pts = 1;
  return promise;
}

/*
 * reconfigure(handle, { bitrateKbps }): { mode: 'dynamic' | 'reopen' }
 * Stored now, applied by the worker before the next frame (also when an encode is in flight).
 */
static napi_value js_reconfigure(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Encoder *e = argc ? unwrap(env, argv[0]) : NULL;
  if (!e) THROW(env, "ERR_AV_ARGS", "reconfigure(handle, settings): not an encoder handle");
  if (e->closed) THROW(env, "ERR_AV_CLOSED", "reconfigure: the encoder is closed");
  if (!e->busy && e->broken) THROW(env, "ERR_AV_BROKEN", e->broken_why);
  napi_valuetype t = napi_undefined;
  int64_t kbps = 0;
  if (argc < 2 || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_object || get_int_opt(env, argv[1], "bitrateKbps", MIN_KBPS, MAX_KBPS, &kbps) != 1) {
    char msg[ERR_LEN];
    snprintf(msg, ERR_LEN, "reconfigure: bitrateKbps must be an integer from %d to %d", MIN_KBPS, MAX_KBPS);
    THROW(env, "ERR_AV_ARGS", msg);
  }
  atomic_store(&e->pending_bitrate, kbps * 1000);
  napi_value out;
  napi_create_object(env, &out);
  set_string(env, out, "mode", e->dynamic_bitrate ? "dynamic" : "reopen");
  return out;
}

/* info(handle): what was actually opened. */
static napi_value js_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Encoder *e = argc ? unwrap(env, argv[0]) : NULL;
  if (!e) THROW(env, "ERR_AV_ARGS", "info(handle): not an encoder handle");
  if (e->closed) THROW(env, "ERR_AV_CLOSED", "info: the encoder is closed");
  napi_value out;
  napi_create_object(env, &out);
  const Settings *s = &e->s;
  set_string(env, out, "codec", s->cand->name);
  set_string(env, out, "family", FAMILY_NAMES[s->cand->family]);
  set_string(env, out, "kind", KIND_NAMES[s->cand->kind]);
  set_bool(env, out, "hardware", is_hardware(e));
  set_number(env, out, "width", s->width);
  set_number(env, out, "height", s->height);
  set_number(env, out, "fps", s->fps);
  set_string(env, out, "inputFormat", av_get_pix_fmt_name(s->in_fmt));
  /* What the encoder itself is fed: the input, NV12, or VA-API surfaces holding NV12. */
  set_string(env, out, "pixelFormat",
             s->cand->family == FAM_VAAPI ? "vaapi(nv12)" : av_get_pix_fmt_name(s->cand->family == FAM_QSV ? AV_PIX_FMT_NV12 : s->in_fmt));
  set_string(env, out, "profile", e->profile[0] ? e->profile : NULL);
  if (e->level > 0)
    set_number(env, out, "level", e->level);
  else
    set_string(env, out, "level", NULL);
  set_number(env, out, "threads", s->threads);
  /* The rate in effect (a pending reconfigure shows once the next frame has taken it). */
  set_number(env, out, "bitrateKbps", (double)(e->shown.bitrate / 1000));
  set_bool(env, out, "dynamicBitrate", e->dynamic_bitrate);
  set_number(env, out, "gopFrames", s->gop);
  napi_value lp;
  if (e->low_power < 0)
    napi_get_null(env, &lp);
  else
    napi_get_boolean(env, e->low_power, &lp);
  napi_set_named_property(env, out, "lowPower", lp);
  set_bool(env, out, "zeroCopy", e->shown.zero_copy);
  set_number(env, out, "framesIn", (double)e->shown.frames_in);
  set_number(env, out, "packetsOut", (double)e->shown.packets_out);
  set_string(env, out, "notes", e->notes);
  set_string(env, out, "libavcodec", LIBAVCODEC_IDENT);
  return out;
}

/* close(handle): frees everything now, or once the in-flight encode finishes. Flushes nothing. Idempotent. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Encoder *e = argc ? unwrap(env, argv[0]) : NULL;
  if (!e) THROW(env, "ERR_AV_ARGS", "close(handle): not an encoder handle");
  e->closed = 1;
  if (!e->busy) destroy_encoder(env, e);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  av_log_set_callback(log_callback);
  napi_property_descriptor props[] = {
      {"encoders", NULL, js_encoders, NULL, NULL, NULL, napi_default, NULL},
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"encode", NULL, js_encode, NULL, NULL, NULL, napi_default, NULL},
      {"reconfigure", NULL, js_reconfigure, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, js_info, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
