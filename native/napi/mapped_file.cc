// Memory-mapped files for zero-copy weight loading: a checkpoint's tensors
// become typed-array views into the page cache. The mapping is private and
// writable (copy-on-write), so a caller writing into a weight changes only
// its own copy of that page and can never fault; the file is not modified.
// The mapping lives as long as the ArrayBuffer (unmapped by its finaliser).
#include "mapped_file.h"

#include <cerrno>
#include <cstring>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define CR_HAVE_MMAP 1
#endif

namespace cr::napi {

namespace {

struct Mapping {
  void* address;
  size_t length;
};

#ifdef CR_HAVE_MMAP
void unmap(napi_env env, void*, void* hint) {
  Mapping* m = static_cast<Mapping*>(hint);
  munmap(m->address, m->length);
  napi_adjust_external_memory(env, -static_cast<int64_t>(m->length), nullptr);
  delete m;
}
#endif

}  // namespace

// mapFile(path) → ArrayBuffer over the whole file.
Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "mapFile: path must be a string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
#ifdef CR_HAVE_MMAP
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Napi::Error::New(env, "mapFile: cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    throw Napi::Error::New(env, "mapFile: cannot stat " + path + ": " + std::strerror(err));
  }
  const size_t length = static_cast<size_t>(st.st_size);
  if (length == 0) {
    close(fd);
    return Napi::ArrayBuffer::New(env, 0);
  }
  void* address = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  const int err = errno;
  close(fd);  // the mapping keeps the file's pages reachable
  if (address == MAP_FAILED) throw Napi::Error::New(env, "mapFile: cannot map " + path + ": " + std::strerror(err));
  auto* mapping = new Mapping{address, length};
  napi_value buffer;
  napi_status status = napi_create_external_arraybuffer(env, address, length, unmap, mapping, &buffer);
  if (status != napi_ok) {
    munmap(address, length);
    delete mapping;
    throw Napi::Error::New(env, "mapFile: this Node.js build does not allow external ArrayBuffers");
  }
  int64_t ignored;
  napi_adjust_external_memory(env, static_cast<int64_t>(length), &ignored);
  return Napi::Value(env, buffer);
#else
  throw Napi::Error::New(env, "mapFile: memory mapping is not available on this platform");
#endif
}

}  // namespace cr::napi
