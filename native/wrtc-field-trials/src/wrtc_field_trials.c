/*
 * Sets libwebrtc's field trials inside @roamhq/wrtc, which offers no API for
 * them. Field trials are libwebrtc's own configuration switches (Chromium sets
 * them with --force-fieldtrials); the host agent needs one in particular:
 * WebRTC-ForceSendPlayoutDelay/min_ms:0,max_ms:0/, which puts the standard
 * playout-delay RTP header extension on every video frame so the client's
 * browser renders frames as they arrive instead of holding them in a jitter
 * buffer (what cloud-gaming senders do).
 *
 * wrtc's binary does not export webrtc::field_trial::InitFieldTrialsFromString,
 * but it is not stripped: we find the function in the file's ELF symbol table,
 * add the module's load address, and call it. Every step is checked and a
 * failure is reported as an error with its reason (the agent then runs
 * without the trials): a wrtc build without the symbol simply cannot be tuned.
 * Linux (ELF) only.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYMBOL "_ZN6webrtc11field_trial25InitFieldTrialsFromStringEPKc"
#define MAX_TRIALS 4096

typedef void (*init_fn)(const char *);

/* libwebrtc keeps the pointer it is given: the string must live as long as the process. */
static char *g_trials = NULL;

/* Finds SYMBOL's value (offset from the load base) in the ELF file at `path`. 0 and a reason if absent. */
static uint64_t find_symbol(const char *path, char *why, size_t why_len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(why, why_len, "cannot open the module file");
    return 0;
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(Elf64_Ehdr)) {
    close(fd);
    snprintf(why, why_len, "the module file is not an ELF file");
    return 0;
  }
  size_t size = (size_t)st.st_size;
  const uint8_t *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (base == MAP_FAILED) {
    snprintf(why, why_len, "cannot map the module file");
    return 0;
  }
  uint64_t value = 0;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
      eh->e_shoff == 0 || eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > size) {
    snprintf(why, why_len, "the module file is not a 64-bit ELF file with section headers");
    goto out;
  }
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(base + eh->e_shoff);
  for (int i = 0; i < eh->e_shnum && !value; i++) {
    if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum || sh[i].sh_entsize != sizeof(Elf64_Sym)) continue;
    const Elf64_Shdr *strs = &sh[sh[i].sh_link];
    if (sh[i].sh_offset + sh[i].sh_size > size || strs->sh_offset + strs->sh_size > size) continue;
    const Elf64_Sym *syms = (const Elf64_Sym *)(base + sh[i].sh_offset);
    const char *names = (const char *)(base + strs->sh_offset);
    size_t count = sh[i].sh_size / sizeof(Elf64_Sym);
    for (size_t s = 0; s < count; s++) {
      if (ELF64_ST_TYPE(syms[s].st_info) != STT_FUNC || syms[s].st_value == 0 || syms[s].st_name >= strs->sh_size) continue;
      const char *name = names + syms[s].st_name;
      if (strnlen(name, strs->sh_size - syms[s].st_name) == strs->sh_size - syms[s].st_name) continue;
      if (strcmp(name, SYMBOL) == 0) {
        value = syms[s].st_value;
        break;
      }
    }
  }
  if (!value) snprintf(why, why_len, "the module has no symbol table entry for webrtc::field_trial::InitFieldTrialsFromString (stripped, or not libwebrtc)");
out:
  munmap((void *)base, size);
  return value;
}

/* setFieldTrials(modulePath: string, trials: string): void. Throws with the reason when it cannot. */
static napi_value js_set(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  char trials[MAX_TRIALS];
  size_t len = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len == 0 || len >= sizeof path - 1) {
    napi_throw_error(env, NULL, "setFieldTrials(modulePath, trials): modulePath must be a path");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, argv[1], trials, sizeof trials, &len) != napi_ok || len >= sizeof trials - 1) {
    napi_throw_error(env, NULL, "setFieldTrials(modulePath, trials): trials must be a string under 4 kB");
    return NULL;
  }
  /* Only a module that is already loaded: RTLD_NOLOAD never loads anything new. */
  void *handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  if (!handle) {
    napi_throw_error(env, NULL, "setFieldTrials: the wrtc module is not loaded from that path");
    return NULL;
  }
  struct link_map *map = NULL;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map) {
    dlclose(handle);
    napi_throw_error(env, NULL, "setFieldTrials: cannot find where the wrtc module is loaded");
    return NULL;
  }
  char why[512] = {0};
  uint64_t offset = find_symbol(path, why, sizeof why);
  if (!offset) {
    dlclose(handle);
    napi_throw_error(env, NULL, why);
    return NULL;
  }
  /* The address must fall inside an executable segment of that module. */
  uintptr_t addr = (uintptr_t)map->l_addr + (uintptr_t)offset;
  Dl_info dl;
  if (!dladdr((void *)addr, &dl) || !dl.dli_fbase || (uintptr_t)dl.dli_fbase != (uintptr_t)map->l_addr) {
    dlclose(handle);
    napi_throw_error(env, NULL, "setFieldTrials: the symbol's address is not inside the wrtc module");
    return NULL;
  }
  char *copy = strdup(trials);
  if (!copy) {
    dlclose(handle);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  ((init_fn)addr)(copy);
  g_trials = copy; /* the previous string may still be referenced by libwebrtc: never freed */
  dlclose(handle);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {{"setFieldTrials", NULL, js_set, NULL, NULL, NULL, napi_default, NULL}};
  napi_define_properties(env, exports, 1, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
