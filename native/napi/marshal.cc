#include "marshal.h"

#include <cmath>
#include <new>

#include "device_buffer.h"

namespace cr::napi {

namespace {

bool arrayTypeMatches(napi_typedarray_type type, DType dtype) {
  switch (dtype) {
    case DType::F32: return type == napi_float32_array;
    case DType::BF16:
    case DType::F16: return type == napi_uint16_array;
    case DType::I32: return type == napi_int32_array;
  }
  return false;
}

// shape and dtype of a tensor object; returns the element count.
double readShape(const std::string& op, const std::string& name, Napi::Object obj, TensorView* view) {
  Napi::Value shape = obj.Get("shape");
  Napi::Value dtype = obj.Get("dtype");
  if (!shape.IsArray() || !dtype.IsString()) throwType(op, ": ", name, " must be a Tensor (with data, shape and dtype)");
  if (!parseDType(dtype.As<Napi::String>().Utf8Value(), &view->dtype)) throwType(op, ": ", name, " has an unknown dtype");
  Napi::Array dims = shape.As<Napi::Array>();
  const uint32_t rank = dims.Length();
  if (rank > static_cast<uint32_t>(kMaxRank)) throwRange(op, ": ", name, " has rank ", rank, ", at most ", kMaxRank, " is supported");
  view->rank = static_cast<int>(rank);
  double size = 1;
  for (uint32_t i = 0; i < rank; ++i) {
    Napi::Value d = dims.Get(i);
    const double v = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : -1;
    if (!(v >= 0) || v != std::floor(v) || v > 9007199254740991.0) {
      throwRange(op, ": ", name, ".shape[", i, "] must be a non-negative integer");
    }
    view->shape[i] = static_cast<int64_t>(v);
    size *= v;
  }
  return size;
}

TensorView readTensor(Napi::Env env, const std::string& op, const std::string& name, Napi::Value value,
                      std::vector<Napi::ObjectReference>* keepAlive) {
  if (!value.IsObject()) throwType(op, ": ", name, " must be a Tensor");
  Napi::Object obj = value.As<Napi::Object>();
  TensorView view;
  // A device tensor has no host data (its `data` getter throws): look for its buffer first.
  Napi::Value deviceBuffer = obj.Get("deviceBuffer");
  if (!deviceBuffer.IsUndefined() && !deviceBuffer.IsNull()) {
    const double size = readShape(op, name, obj, &view);
    if (size > 9007199254740991.0 / 8) throwRange(op, ": ", name, " is too large");
    readDeviceTensor(env, op, name, obj, deviceBuffer, static_cast<size_t>(size) * dtypeSize(view.dtype), &view, keepAlive);
    return view;
  }
  Napi::Value data = obj.Get("data");
  if (!data.IsTypedArray()) throwType(op, ": ", name, " must be a Tensor (with data, shape and dtype)");
  const double size = readShape(op, name, obj, &view);
  Napi::TypedArray array = data.As<Napi::TypedArray>();
  if (!arrayTypeMatches(array.TypedArrayType(), view.dtype)) {
    throwType(op, ": ", name, ".data does not hold ", dtypeName(view.dtype), " elements");
  }
  if (size != static_cast<double>(array.ElementLength())) {
    throwRange(op, ": ", name, " has ", array.ElementLength(), " elements but its shape ", shapeString(view), " needs ", size);
  }
  Napi::ArrayBuffer buffer = array.ArrayBuffer();
  if (buffer.Data() == nullptr && array.ElementLength() > 0) throwType(op, ": ", name, ".data is detached");
  view.data = static_cast<char*>(buffer.Data()) + array.ByteOffset();
  if (keepAlive != nullptr) keepAlive->push_back(Napi::Persistent(array.As<Napi::Object>()));
  return view;
}

Attr readAttr(const std::string& op, const std::string& name, Napi::Value value) {
  Attr attr;
  if (value.IsNumber()) {
    attr.kind = Attr::Kind::Number;
    attr.number = value.As<Napi::Number>().DoubleValue();
  } else if (value.IsBoolean()) {
    attr.kind = Attr::Kind::Bool;
    attr.flag = value.As<Napi::Boolean>().Value();
  } else if (value.IsString()) {
    attr.kind = Attr::Kind::String;
    attr.text = value.As<Napi::String>().Utf8Value();
  } else {
    throwType(op, ": option '", name, "' must be a number, boolean or string");
  }
  return attr;
}

}  // namespace

OpCall marshalCall(Napi::Env env, const std::string& op, Napi::Object tensors, Napi::Value attrs,
                   std::vector<Napi::ObjectReference>* keepAlive) {
  OpCall call(op);
  Napi::Array names = tensors.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value value = tensors.Get(name);
    if (value.IsUndefined() || value.IsNull()) continue;
    call.addTensor(name, readTensor(env, op, name, value, keepAlive));
  }
  if (attrs.IsObject()) {
    Napi::Object object = attrs.As<Napi::Object>();
    Napi::Array keys = object.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      const std::string name = keys.Get(i).As<Napi::String>().Utf8Value();
      Napi::Value value = object.Get(name);
      if (value.IsUndefined() || value.IsNull()) continue;
      call.addAttr(name, readAttr(op, name, value));
    }
  }
  return call;
}

Napi::Error toJsError(Napi::Env env, ErrorKind kind, const std::string& message) {
  switch (kind) {
    case ErrorKind::Type: return Napi::TypeError::New(env, message);
    case ErrorKind::Range: return Napi::RangeError::New(env, message);
    default: return Napi::Error::New(env, message);
  }
}

void rethrowAsJs(Napi::Env env, const std::string& op) {
  try {
    throw;
  } catch (const Napi::Error&) {
    throw;
  } catch (const Error& e) {
    throw toJsError(env, e.kind(), e.what());
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(env, op + ": out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, op + ": " + e.what());
  } catch (...) {
    throw Napi::Error::New(env, op + ": unknown native error");
  }
}

}  // namespace cr::napi
