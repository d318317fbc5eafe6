/*
 * In-process X11 screen capture for the host agent: MIT-SHM grabs of the
 * captured region, DAMAGE to know when (and whether) the screen changed,
 * XFIXES for the cursor, and libyuv (SIMD) for BGRX -> I420 or I444 and scaling.
 *
 * Colour: libyuv's ARGBToI420 and ARGBToI444 apply the BT.601 matrix with
 * limited ("studio", 16-235 / 16-240) range, the only RGB -> YUV matrix the
 * libyuv of Debian 12 has for these. Whatever encodes these frames must say
 * so in its bitstream: matrix BT.601 (smpte170m), limited range (and, for an
 * sRGB desktop, BT.709 primaries with the sRGB transfer); the av-encoder
 * addon's default colour is exactly that.
 *
 * Everything slow (waiting for damage, the grab, the conversion) runs on a
 * libuv worker thread through napi async work, so the agent's event loop,
 * which also injects the artist's input, is never blocked by a frame.
 *
 * One capture handle belongs to one connection and one thread at a time: the
 * JavaScript side awaits each `next` before the next call, and the handle
 * refuses a call while one is in flight. XCB reports connection loss as a
 * value (never exit()s the process as Xlib's default handler does), so a
 * dying X server becomes a rejected promise with a reason.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>

#include <xcb/damage.h>
#include <xcb/shm.h>
#include <xcb/xcb.h>
#include <xcb/xfixes.h>

#include <libyuv/convert_from_argb.h>
#include <libyuv/scale.h>
#include <libyuv/scale_argb.h>

#define ERR_LEN 256
/* While waiting for damage with the cursor drawn in, the pointer is polled this often. */
#define CURSOR_POLL_MS 4
/* Longest single wait the JavaScript side may ask for: a worker thread is held meanwhile. */
#define MAX_WAIT_MS 1000
#define MAX_CURSOR_SIDE 256

/* Output layouts: planar I420 (chroma at quarter size) or I444 (three full planes). */
enum { FORMAT_I420, FORMAT_I444 };

typedef struct {
  xcb_connection_t *conn;
  xcb_window_t root;
  int fd;
  uint8_t damage_event_base;
  uint8_t xfixes_event_base;
  xcb_damage_damage_t damage;
  int has_xfixes;

  /* Region of the root window captured, and the size and layout produced. */
  int x, y, w, h, out_w, out_h;
  int format;
  int draw_cursor;
  int configured;

  /* MIT-SHM segment holding one BGRX image of the region. */
  int shmid;
  uint8_t *shm;
  xcb_shm_seg_t seg;
  size_t shm_size;
  /* When the output is smaller than the region: the full-size I420 before scaling, or for I444
   * the BGRX image already scaled to the output size. */
  uint8_t *scratch;
  size_t scratch_size;

  /* Damage inside the region seen since the last grab. */
  int damaged;
  /* Cursor: where it is now, its image, and what the last frame showed. */
  int cursor_dirty_shape;
  uint32_t *cursor_pixels;
  int cursor_w, cursor_h, cursor_xhot, cursor_yhot;
  int pointer_x, pointer_y;
  int drawn_x, drawn_y, drawn_valid;
  uint32_t shape_serial, drawn_serial;

  int busy;
  int closed;
  int broken;
  char error[ERR_LEN];
} Capture;

typedef struct {
  Capture *cap;
  napi_async_work work;
  napi_deferred deferred;
  napi_ref handle_ref;
  napi_ref out_ref;
  uint8_t *out;
  int wait_ms;
  int force;
  /* results */
  int captured;
  int damage;
  double waited_ms;
  double grab_ms;
  double convert_ms;
  int failed;
  char error[ERR_LEN];
} NextOp;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static size_t i420_size(int w, int h) {
  return (size_t)w * (size_t)h + 2 * (size_t)((w + 1) / 2) * (size_t)((h + 1) / 2);
}

static size_t i444_size(int w, int h) { return (size_t)w * (size_t)h * 3; }

static size_t frame_size(int format, int w, int h) { return format == FORMAT_I444 ? i444_size(w, h) : i420_size(w, h); }

static int set_broken(Capture *cap, const char *why) {
  if (!cap->broken) {
    cap->broken = 1;
    snprintf(cap->error, ERR_LEN, "%s", why);
  }
  return -1;
}

static int check_conn(Capture *cap) {
  int e = xcb_connection_has_error(cap->conn);
  if (e) {
    char msg[ERR_LEN];
    snprintf(msg, ERR_LEN, "X connection lost (xcb error %d)", e);
    return set_broken(cap, msg);
  }
  return 0;
}

static int rects_intersect(int ax, int ay, int aw, int ah, int bx, int by, int bw, int bh) {
  return ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah;
}

/* Handles every event already read; marks damage that touches the region. */
static void drain_events(Capture *cap) {
  xcb_generic_event_t *ev;
  while ((ev = xcb_poll_for_event(cap->conn)) != NULL) {
    uint8_t type = ev->response_type & 0x7f;
    if (type == cap->damage_event_base + XCB_DAMAGE_NOTIFY) {
      xcb_damage_notify_event_t *d = (xcb_damage_notify_event_t *)ev;
      if (!cap->configured || rects_intersect(d->area.x + d->geometry.x, d->area.y + d->geometry.y, d->area.width, d->area.height,
                                              cap->x, cap->y, cap->w, cap->h))
        cap->damaged = 1;
    } else if (cap->has_xfixes && type == cap->xfixes_event_base + XCB_XFIXES_CURSOR_NOTIFY) {
      xcb_xfixes_cursor_notify_event_t *c = (xcb_xfixes_cursor_notify_event_t *)ev;
      cap->shape_serial = c->cursor_serial;
      cap->cursor_dirty_shape = 1;
    }
    free(ev);
  }
}

/* Fetches the cursor image (after a shape change, or the first time). */
static int fetch_cursor_image(Capture *cap) {
  xcb_generic_error_t *err = NULL;
  xcb_xfixes_get_cursor_image_reply_t *r =
      xcb_xfixes_get_cursor_image_reply(cap->conn, xcb_xfixes_get_cursor_image(cap->conn), &err);
  if (!r) {
    free(err);
    return check_conn(cap);
  }
  int w = r->width, h = r->height;
  if (w > MAX_CURSOR_SIDE) w = MAX_CURSOR_SIDE;
  if (h > MAX_CURSOR_SIDE) h = MAX_CURSOR_SIDE;
  uint32_t *src = xcb_xfixes_get_cursor_image_cursor_image(r);
  uint32_t *pixels = malloc((size_t)(w > 0 ? w : 1) * (size_t)(h > 0 ? h : 1) * 4);
  if (!pixels) {
    free(r);
    return set_broken(cap, "out of memory for the cursor image");
  }
  for (int row = 0; row < h; row++) memcpy(pixels + (size_t)row * w, src + (size_t)row * r->width, (size_t)w * 4);
  free(cap->cursor_pixels);
  cap->cursor_pixels = pixels;
  cap->cursor_w = w;
  cap->cursor_h = h;
  cap->cursor_xhot = r->xhot;
  cap->cursor_yhot = r->yhot;
  cap->pointer_x = r->x;
  cap->pointer_y = r->y;
  cap->shape_serial = r->cursor_serial;
  cap->cursor_dirty_shape = 0;
  free(r);
  return 0;
}

/* Updates where the pointer is; 1 if the cursor as drawn would differ from the last frame. */
static int cursor_changed(Capture *cap) {
  if (!cap->draw_cursor || !cap->has_xfixes) return 0;
  if (cap->cursor_dirty_shape || !cap->cursor_pixels) {
    if (fetch_cursor_image(cap) < 0) return 0;
  } else {
    xcb_generic_error_t *err = NULL;
    xcb_query_pointer_reply_t *p = xcb_query_pointer_reply(cap->conn, xcb_query_pointer(cap->conn, cap->root), &err);
    if (!p) {
      free(err);
      check_conn(cap);
      return 0;
    }
    cap->pointer_x = p->root_x;
    cap->pointer_y = p->root_y;
    free(p);
  }
  return !cap->drawn_valid || cap->pointer_x != cap->drawn_x || cap->pointer_y != cap->drawn_y || cap->shape_serial != cap->drawn_serial;
}

/* Alpha-blends the (premultiplied ARGB) cursor over the BGRX image of the region. */
static void blend_cursor(Capture *cap) {
  cap->drawn_x = cap->pointer_x;
  cap->drawn_y = cap->pointer_y;
  cap->drawn_serial = cap->shape_serial;
  cap->drawn_valid = 1;
  if (!cap->cursor_pixels) return;
  int left = cap->pointer_x - cap->cursor_xhot - cap->x;
  int top = cap->pointer_y - cap->cursor_yhot - cap->y;
  for (int cy = 0; cy < cap->cursor_h; cy++) {
    int py = top + cy;
    if (py < 0 || py >= cap->h) continue;
    uint8_t *row = cap->shm + (size_t)py * (size_t)cap->w * 4;
    for (int cx = 0; cx < cap->cursor_w; cx++) {
      int px = left + cx;
      if (px < 0 || px >= cap->w) continue;
      uint32_t s = cap->cursor_pixels[(size_t)cy * cap->cursor_w + cx];
      uint32_t a = s >> 24;
      if (a == 0) continue;
      uint8_t *d = row + (size_t)px * 4;
      uint32_t inv = 255 - a;
      d[0] = (uint8_t)((s & 0xff) + (d[0] * inv + 127) / 255);
      d[1] = (uint8_t)(((s >> 8) & 0xff) + (d[1] * inv + 127) / 255);
      d[2] = (uint8_t)(((s >> 16) & 0xff) + (d[2] * inv + 127) / 255);
    }
  }
}

static void release_shm(Capture *cap) {
  if (cap->shm) {
    if (cap->conn && !xcb_connection_has_error(cap->conn)) xcb_shm_detach(cap->conn, cap->seg);
    shmdt(cap->shm);
    cap->shm = NULL;
  }
  free(cap->scratch);
  cap->scratch = NULL;
  cap->scratch_size = 0;
  cap->configured = 0;
}

static void destroy_capture(Capture *cap) {
  if (!cap->conn) return;
  release_shm(cap);
  free(cap->cursor_pixels);
  cap->cursor_pixels = NULL;
  xcb_disconnect(cap->conn);
  cap->conn = NULL;
}

/* ---- the grab itself (worker thread) ---- */

static int grab(Capture *cap, NextOp *op) {
  double t0 = now_ms();
  if (cap->damaged) {
    /* Re-arm before reading, so a change made during the grab is seen next time. */
    xcb_damage_subtract(cap->conn, cap->damage, XCB_NONE, XCB_NONE);
    cap->damaged = 0;
  }
  xcb_generic_error_t *err = NULL;
  xcb_shm_get_image_reply_t *r = xcb_shm_get_image_reply(
      cap->conn,
      xcb_shm_get_image(cap->conn, cap->root, (int16_t)cap->x, (int16_t)cap->y, (uint16_t)cap->w, (uint16_t)cap->h, ~0u,
                        XCB_IMAGE_FORMAT_Z_PIXMAP, cap->seg, 0),
      &err);
  if (!r) {
    if (err) {
      snprintf(op->error, ERR_LEN, "ShmGetImage failed (X error %u): is the region %dx%d+%d+%d still on screen?", err->error_code,
               cap->w, cap->h, cap->x, cap->y);
      free(err);
      return -1;
    }
    check_conn(cap);
    snprintf(op->error, ERR_LEN, "%s", cap->error[0] ? cap->error : "ShmGetImage failed");
    return -1;
  }
  free(r);
  if (cap->draw_cursor) blend_cursor(cap);
  double t1 = now_ms();

  uint8_t *dst = op->out;
  int ow = cap->out_w, oh = cap->out_h;
  int ocw = (ow + 1) / 2, och = (oh + 1) / 2;
  int rc;
  size_t plane = (size_t)ow * oh;
  if (cap->format == FORMAT_I444) {
    /* Scaled as BGRX first, then converted at the output size: converting at full size and scaling
     * the three planes (I444Scale) costs twice as much (1080p -> 720p: 3.2 against 7.7 ms, libyuv
     * 1857 with AVX2), and the conversion is linear, so the order changes nothing but rounding. */
    const uint8_t *src = cap->shm;
    int stride = cap->w * 4;
    rc = 0;
    if (ow != cap->w || oh != cap->h) {
      rc = ARGBScale(cap->shm, cap->w * 4, cap->w, cap->h, cap->scratch, ow * 4, ow, oh, kFilterBilinear);
      src = cap->scratch;
      stride = ow * 4;
    }
    if (rc == 0) rc = ARGBToI444(src, stride, dst, ow, dst + plane, ow, dst + 2 * plane, ow, ow, oh);
  } else if (ow == cap->w && oh == cap->h) {
    rc = ARGBToI420(cap->shm, cap->w * 4, dst, ow, dst + (size_t)ow * oh, ocw, dst + (size_t)ow * oh + (size_t)ocw * och, ocw, cap->w,
                    cap->h);
  } else {
    int sw = cap->w, sh = cap->h, scw = (sw + 1) / 2, sch = (sh + 1) / 2;
    uint8_t *s = cap->scratch;
    rc = ARGBToI420(cap->shm, sw * 4, s, sw, s + (size_t)sw * sh, scw, s + (size_t)sw * sh + (size_t)scw * sch, scw, sw, sh);
    if (rc == 0)
      rc = I420Scale(s, sw, s + (size_t)sw * sh, scw, s + (size_t)sw * sh + (size_t)scw * sch, scw, sw, sh, dst, ow,
                     dst + (size_t)ow * oh, ocw, dst + (size_t)ow * oh + (size_t)ocw * och, ocw, ow, oh, kFilterBilinear);
  }
  if (rc != 0) {
    snprintf(op->error, ERR_LEN, "libyuv conversion failed (%d)", rc);
    return -1;
  }
  op->grab_ms = t1 - t0;
  op->convert_ms = now_ms() - t1;
  return 0;
}

static void next_execute(napi_env env, void *data) {
  (void)env;
  NextOp *op = data;
  Capture *cap = op->cap;
  if (cap->broken || check_conn(cap) < 0) {
    op->failed = 1;
    snprintf(op->error, ERR_LEN, "%s", cap->error);
    return;
  }
  double start = now_ms();
  drain_events(cap);
  int cursor = cursor_changed(cap);
  if (!cap->damaged && !cursor && !op->force && op->wait_ms > 0) {
    double deadline = start + op->wait_ms;
    for (;;) {
      double left = deadline - now_ms();
      if (left <= 0) break;
      int slice = (int)left + 1;
      if (cap->draw_cursor && cap->has_xfixes && slice > CURSOR_POLL_MS) slice = CURSOR_POLL_MS;
      struct pollfd pfd = {.fd = cap->fd, .events = POLLIN};
      int n = poll(&pfd, 1, slice);
      if (n < 0 && errno != EINTR) {
        set_broken(cap, "poll on the X connection failed");
        break;
      }
      if (n > 0 && (pfd.revents & (POLLERR | POLLHUP))) {
        set_broken(cap, "X connection closed");
        break;
      }
      drain_events(cap);
      if (check_conn(cap) < 0) break;
      if (cap->damaged) break;
      if (cursor_changed(cap)) {
        cursor = 1;
        break;
      }
    }
  }
  op->waited_ms = now_ms() - start;
  if (cap->broken) {
    op->failed = 1;
    snprintf(op->error, ERR_LEN, "%s", cap->error);
    return;
  }
  op->damage = cap->damaged;
  if (!cap->damaged && !cursor && !op->force) return;
  if (grab(cap, op) < 0) {
    op->failed = 1;
    return;
  }
  op->captured = 1;
}

static void set_number(napi_env env, napi_value obj, const char *key, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  napi_set_named_property(env, obj, key, v);
}

static void next_complete(napi_env env, napi_status status, void *data) {
  NextOp *op = data;
  Capture *cap = op->cap;
  cap->busy = 0;
  if (status != napi_ok && !op->failed) {
    op->failed = 1;
    snprintf(op->error, ERR_LEN, "capture work was cancelled");
  }
  if (op->failed) {
    napi_value msg, error;
    napi_create_string_utf8(env, op->error, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &error);
    napi_reject_deferred(env, op->deferred, error);
  } else {
    napi_value result, flag;
    napi_create_object(env, &result);
    napi_get_boolean(env, op->captured, &flag);
    napi_set_named_property(env, result, "captured", flag);
    napi_get_boolean(env, op->damage, &flag);
    napi_set_named_property(env, result, "damage", flag);
    set_number(env, result, "waitedMs", op->waited_ms);
    set_number(env, result, "grabMs", op->grab_ms);
    set_number(env, result, "convertMs", op->convert_ms);
    napi_resolve_deferred(env, op->deferred, result);
  }
  if (cap->closed) destroy_capture(cap);
  napi_delete_reference(env, op->out_ref);
  napi_delete_reference(env, op->handle_ref);
  napi_delete_async_work(env, op->work);
  free(op);
}

/* ---- JavaScript entry points ---- */

#define THROW(env, msg)                         \
  do {                                          \
    napi_throw_error((env), NULL, (msg));       \
    return NULL;                                \
  } while (0)

static void finalize_capture(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Capture *cap = data;
  destroy_capture(cap);
  free(cap);
}

static Capture *unwrap(napi_env env, napi_value value) {
  void *data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external) return NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return data;
}

static int get_int_prop(napi_env env, napi_value obj, const char *key, int *out) {
  napi_value v;
  napi_valuetype type;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return -1;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_number) return -1;
  return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1;
}

static int get_bool_prop(napi_env env, napi_value obj, const char *key, int *out) {
  napi_value v;
  bool b = false;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return -1;
  if (napi_get_value_bool(env, v, &b) != napi_ok) return -1;
  *out = b ? 1 : 0;
  return 0;
}

/* open(display: string): handle. Connects, checks MIT-SHM, DAMAGE, XFIXES and the visual. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char display[256] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], display, sizeof display, &len) != napi_ok) THROW(env, "open(display): display must be a string");

  char msg[ERR_LEN];
  int screen_no = 0;
  xcb_connection_t *conn = xcb_connect(display, &screen_no);
  if (xcb_connection_has_error(conn)) {
    xcb_disconnect(conn);
    snprintf(msg, ERR_LEN, "cannot connect to X display %s", display);
    THROW(env, msg);
  }
  const xcb_setup_t *setup = xcb_get_setup(conn);
  xcb_screen_iterator_t it = xcb_setup_roots_iterator(setup);
  for (int i = 0; i < screen_no && it.rem; i++) xcb_screen_next(&it);
  xcb_screen_t *screen = it.data;

  /* ZPixmap of the root must be 32 bits per pixel, little-endian BGRX (TrueColor 8:8:8). */
  int bpp = 0;
  xcb_format_iterator_t fit = xcb_setup_pixmap_formats_iterator(setup);
  for (; fit.rem; xcb_format_next(&fit))
    if (fit.data->depth == screen->root_depth) bpp = fit.data->bits_per_pixel;
  xcb_visualtype_t *visual = NULL;
  for (xcb_depth_iterator_t d = xcb_screen_allowed_depths_iterator(screen); d.rem && !visual; xcb_depth_next(&d))
    for (xcb_visualtype_iterator_t v = xcb_depth_visuals_iterator(d.data); v.rem; xcb_visualtype_next(&v))
      if (v.data->visual_id == screen->root_visual) {
        visual = v.data;
        break;
      }
  if (bpp != 32 || setup->image_byte_order != XCB_IMAGE_ORDER_LSB_FIRST || !visual || visual->red_mask != 0xff0000 ||
      visual->green_mask != 0xff00 || visual->blue_mask != 0xff) {
    xcb_disconnect(conn);
    snprintf(msg, ERR_LEN, "unsupported visual on %s (depth %d, %d bpp): 24-bit TrueColor BGRX is required", display,
             screen->root_depth, bpp);
    THROW(env, msg);
  }

  const xcb_query_extension_reply_t *shm_ext = xcb_get_extension_data(conn, &xcb_shm_id);
  const xcb_query_extension_reply_t *damage_ext = xcb_get_extension_data(conn, &xcb_damage_id);
  const xcb_query_extension_reply_t *xfixes_ext = xcb_get_extension_data(conn, &xcb_xfixes_id);
  if (!shm_ext || !shm_ext->present || !damage_ext || !damage_ext->present) {
    xcb_disconnect(conn);
    snprintf(msg, ERR_LEN, "X display %s lacks %s", display, (!shm_ext || !shm_ext->present) ? "MIT-SHM" : "DAMAGE");
    THROW(env, msg);
  }
  int has_xfixes = 0;
  if (xfixes_ext && xfixes_ext->present) {
    xcb_xfixes_query_version_reply_t *xv = xcb_xfixes_query_version_reply(conn, xcb_xfixes_query_version(conn, 4, 0), NULL);
    has_xfixes = xv && xv->major_version >= 2;
    free(xv);
  }
  /* DAMAGE must be told our version before any other request. */
  free(xcb_damage_query_version_reply(conn, xcb_damage_query_version(conn, 1, 1), NULL));

  Capture *cap = calloc(1, sizeof *cap);
  if (!cap) {
    xcb_disconnect(conn);
    THROW(env, "out of memory");
  }
  cap->conn = conn;
  cap->root = screen->root;
  cap->fd = xcb_get_file_descriptor(conn);
  cap->damage_event_base = damage_ext->first_event;
  cap->xfixes_event_base = has_xfixes ? xfixes_ext->first_event : 0;
  cap->has_xfixes = has_xfixes;
  cap->damage = xcb_generate_id(conn);
  xcb_generic_error_t *err = xcb_request_check(
      conn, xcb_damage_create_checked(conn, cap->damage, cap->root, XCB_DAMAGE_REPORT_LEVEL_BOUNDING_BOX));
  if (err) {
    free(err);
    xcb_disconnect(conn);
    free(cap);
    snprintf(msg, ERR_LEN, "DAMAGE on the root window of %s was refused", display);
    THROW(env, msg);
  }
  if (has_xfixes) xcb_xfixes_select_cursor_input(conn, cap->root, XCB_XFIXES_CURSOR_NOTIFY_MASK_DISPLAY_CURSOR);
  cap->damaged = 1; /* the first frame is always taken */
  cap->cursor_dirty_shape = 1;
  xcb_flush(conn);

  napi_value handle;
  if (napi_create_external(env, cap, finalize_capture, NULL, &handle) != napi_ok) {
    destroy_capture(cap);
    free(cap);
    THROW(env, "cannot create the capture handle");
  }
  return handle;
}

/* screen(handle): { width, height } of the root window now. */
static napi_value js_screen(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Capture *cap = argc ? unwrap(env, argv[0]) : NULL;
  if (!cap || !cap->conn) THROW(env, "screen(handle): not an open capture handle");
  if (cap->busy) THROW(env, "screen(handle): a capture is in flight");
  xcb_get_geometry_reply_t *g = xcb_get_geometry_reply(cap->conn, xcb_get_geometry(cap->conn, cap->root), NULL);
  if (!g) THROW(env, "screen(handle): GetGeometry of the root window failed (X connection lost?)");
  napi_value out;
  napi_create_object(env, &out);
  set_number(env, out, "width", g->width);
  set_number(env, out, "height", g->height);
  free(g);
  return out;
}

/* configure(handle, { x, y, width, height, outWidth, outHeight, drawCursor, format? }); format 'i420' (default) or 'i444'. */
static napi_value js_configure(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Capture *cap = argc ? unwrap(env, argv[0]) : NULL;
  if (!cap || !cap->conn) THROW(env, "configure(handle, settings): not an open capture handle");
  if (cap->busy) THROW(env, "configure: a capture is in flight");
  int x, y, w, h, ow, oh, cursor;
  if (argc < 2 || get_int_prop(env, argv[1], "x", &x) || get_int_prop(env, argv[1], "y", &y) ||
      get_int_prop(env, argv[1], "width", &w) || get_int_prop(env, argv[1], "height", &h) ||
      get_int_prop(env, argv[1], "outWidth", &ow) || get_int_prop(env, argv[1], "outHeight", &oh) ||
      get_bool_prop(env, argv[1], "drawCursor", &cursor))
    THROW(env, "configure: settings need integer x, y, width, height, outWidth, outHeight and boolean drawCursor");
  int format = FORMAT_I420;
  napi_value fv;
  napi_valuetype ft = napi_undefined;
  if (napi_get_named_property(env, argv[1], "format", &fv) == napi_ok && napi_typeof(env, fv, &ft) == napi_ok && ft != napi_undefined) {
    char name[8] = {0};
    size_t n = 0;
    if (ft != napi_string || napi_get_value_string_utf8(env, fv, name, sizeof name, &n) != napi_ok || (strcmp(name, "i420") && strcmp(name, "i444")))
      THROW(env, "configure: format must be \"i420\" or \"i444\"");
    format = strcmp(name, "i444") == 0 ? FORMAT_I444 : FORMAT_I420;
  }
  if (w < 2 || h < 2 || w > 16384 || h > 16384 || ow < 2 || oh < 2 || ow > w || oh > h || x < 0 || y < 0 || x > 32767 - w ||
      y > 32767 - h)
    THROW(env, "configure: region or output size out of range (output may not exceed the region)");
  xcb_get_geometry_reply_t *g = xcb_get_geometry_reply(cap->conn, xcb_get_geometry(cap->conn, cap->root), NULL);
  if (!g) THROW(env, "configure: GetGeometry of the root window failed (X connection lost?)");
  int sw = g->width, sh = g->height;
  free(g);
  if (x + w > sw || y + h > sh) {
    char msg[ERR_LEN];
    snprintf(msg, ERR_LEN, "configure: region %dx%d+%d+%d is outside the %dx%d screen", w, h, x, y, sw, sh);
    THROW(env, msg);
  }

  size_t need = (size_t)w * (size_t)h * 4;
  if (!cap->shm || cap->shm_size != need) {
    release_shm(cap);
    int id = shmget(IPC_PRIVATE, need, IPC_CREAT | 0600);
    if (id < 0) THROW(env, "configure: shmget failed (is /dev/shm or SHMMAX too small?)");
    void *mem = shmat(id, NULL, 0);
    if (mem == (void *)-1) {
      shmctl(id, IPC_RMID, NULL);
      THROW(env, "configure: shmat failed");
    }
    xcb_shm_seg_t seg = xcb_generate_id(cap->conn);
    xcb_generic_error_t *err = xcb_request_check(cap->conn, xcb_shm_attach_checked(cap->conn, seg, (uint32_t)id, 0));
    /* Marked for removal now: it disappears once both we and the server detach, even if we crash. */
    shmctl(id, IPC_RMID, NULL);
    if (err) {
      free(err);
      shmdt(mem);
      THROW(env, "configure: the X server could not attach the shared memory (MIT-SHM needs the display on this machine)");
    }
    cap->shmid = id;
    cap->shm = mem;
    cap->seg = seg;
    cap->shm_size = need;
  }
  size_t scratch = (ow == w && oh == h) ? 0 : format == FORMAT_I444 ? (size_t)ow * (size_t)oh * 4 : i420_size(w, h);
  if (scratch > cap->scratch_size) {
    uint8_t *s = realloc(cap->scratch, scratch);
    if (!s) THROW(env, "configure: out of memory");
    cap->scratch = s;
    cap->scratch_size = scratch;
  }
  cap->x = x;
  cap->y = y;
  cap->w = w;
  cap->h = h;
  cap->out_w = ow;
  cap->out_h = oh;
  cap->format = format;
  cap->draw_cursor = cursor;
  cap->drawn_valid = 0;
  cap->damaged = 1;
  cap->configured = 1;
  return NULL;
}

/*
 * next(handle, out: Uint8Array, waitMs: number, force: boolean): Promise<{ captured, damage, waitedMs, grabMs, convertMs }>
 * Waits up to waitMs for the region to change (or the cursor to move), then grabs it into `out` as I420 or I444.
 * With force, grabs at once whether or not anything changed.
 */
static napi_value js_next(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Capture *cap = argc ? unwrap(env, argv[0]) : NULL;
  if (!cap || !cap->conn) THROW(env, "next(handle, out, waitMs, force): not an open capture handle");
  if (!cap->configured) THROW(env, "next: configure the capture first");
  if (cap->busy) THROW(env, "next: a capture is already in flight");
  bool is_typed = false;
  if (argc < 4 || napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed) THROW(env, "next: out must be a Uint8Array");
  napi_typedarray_type ta_type;
  size_t length = 0;
  void *buf = NULL;
  napi_get_typedarray_info(env, argv[1], &ta_type, &length, &buf, NULL, NULL);
  if (ta_type != napi_uint8_array) THROW(env, "next: out must be a Uint8Array");
  if (length < frame_size(cap->format, cap->out_w, cap->out_h))
    THROW(env, cap->format == FORMAT_I444 ? "next: out is smaller than one I444 frame of the output size"
                                          : "next: out is smaller than one I420 frame of the output size");
  int32_t wait_ms = 0;
  bool force = false;
  if (napi_get_value_int32(env, argv[2], &wait_ms) != napi_ok || napi_get_value_bool(env, argv[3], &force) != napi_ok)
    THROW(env, "next: waitMs must be a number and force a boolean");
  if (wait_ms < 0) wait_ms = 0;
  if (wait_ms > MAX_WAIT_MS) wait_ms = MAX_WAIT_MS;

  NextOp *op = calloc(1, sizeof *op);
  if (!op) THROW(env, "out of memory");
  op->cap = cap;
  op->out = buf;
  op->wait_ms = wait_ms;
  op->force = force;
  napi_create_reference(env, argv[0], 1, &op->handle_ref);
  napi_create_reference(env, argv[1], 1, &op->out_ref);
  napi_value promise, name;
  napi_create_promise(env, &op->deferred, &promise);
  napi_create_string_utf8(env, "backlot:xcb-capture", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, next_execute, next_complete, op, &op->work);
  cap->busy = 1;
  if (napi_queue_async_work(env, op->work) != napi_ok) {
    cap->busy = 0;
    napi_delete_reference(env, op->out_ref);
    napi_delete_reference(env, op->handle_ref);
    napi_delete_async_work(env, op->work);
    free(op);
    THROW(env, "next: could not queue the capture");
  }
  return promise;
}

/* close(handle): releases the segment and the connection (after an in-flight capture finishes). Idempotent. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Capture *cap = argc ? unwrap(env, argv[0]) : NULL;
  if (!cap) THROW(env, "close(handle): not a capture handle");
  cap->closed = 1;
  if (!cap->busy) destroy_capture(cap);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"screen", NULL, js_screen, NULL, NULL, NULL, napi_default, NULL},
      {"configure", NULL, js_configure, NULL, NULL, NULL, napi_default, NULL},
      {"next", NULL, js_next, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
