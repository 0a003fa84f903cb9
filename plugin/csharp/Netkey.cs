// Netkey.cs: what the C# binding's two halves share: error codes and NetkeyException,
// refusal reasons, the event delegates, UTF-8 marshalling by hand, and the
// MonoPInvokeCallback attribute that IL2CPP looks for on native callbacks.
//
// The binding targets the oldest profile it can: C# 7 (mcs, Unity's Roslyn), no unsafe
// code, no UnmanagedType.LPUTF8Str, no Marshal.PtrToStringUTF8. The ReadOnlySpan<byte>
// overloads need Span (Mono 6, Unity 2021.2+, Godot .NET); define NETKEY_NO_SPAN to
// leave them out on older profiles (the byte[] + offset/count overloads remain).
using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Netkey {

/// <summary>netkey.h's error codes (NETKEY_OK, NETKEY_ERR_*).</summary>
public enum NetkeyError {
  Ok = 0,
  InvalidArgument = -1,
  Io = -2,
  Malformed = -3,
  Refused = -4,
  NotReady = -5,
  Unsupported = -6,
  Internal = -7,
}

/// <summary>netkey.h's refusal reasons (NETKEY_REFUSED_*).</summary>
public enum NetkeyRefusal {
  None = 0,  // the server never answered
  NotOnAcl = 1,
  ClearanceTooLow = 2,
  CertificateExpired = 3,
  CertificateInvalid = 4,
  WrongCa = 5,
  CharterMismatch = 6,
  GroupFull = 7,
  RateLimited = 8,
  BadCookie = 9,
  HandshakeFailed = 10,
  Removed = 11,
}

/// <summary>A netkey call returned an error code; Message is netkey_strerror's text.</summary>
public class NetkeyException : Exception {
  public NetkeyError Code { get; private set; }

  public NetkeyException(int code, string call)
      : base(call + ": " + Strerror(code) + " (" + code + ")") {
    Code = (NetkeyError)code;
  }

  /// <summary>netkey_strerror(code): a static explanation, never null.</summary>
  public static string Strerror(int code) {
    return Utf8.Decode(NetkeyNative.netkey_strerror(code));
  }

  internal static void Check(int code, string call) {
    if (code != NetkeyNative.NETKEY_OK) throw new NetkeyException(code, call);
  }
}

// Event signatures. A payload is a view of a buffer the binding reuses: it is valid only
// during the event (copy it to keep it). Subjects are the certificates' names.
public delegate void MemberEventHandler(uint member, string subject, ulong epoch);
public delegate void ServerRefusedHandler(NetkeyRefusal reason, string subject);
public delegate void ClientJoinedHandler(uint member, ulong epoch);
public delegate void ClientLeftHandler();
public delegate void ClientRefusedHandler(NetkeyRefusal reason);
public delegate void EpochEventHandler(ulong epoch);
public delegate void MessageEventHandler(uint sender, ArraySegment<byte> payload);

/// <summary>
/// Marks a static method that native code calls back. IL2CPP and Mono's full AOT match
/// the attribute by its name alone and generate a native-callable wrapper, so this one
/// serves without UnityEngine (whose AOT.MonoPInvokeCallbackAttribute is the same thing).
/// Internal, so that it never clashes with AOT's in game code.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class MonoPInvokeCallbackAttribute : Attribute {
  public MonoPInvokeCallbackAttribute(Type delegateType) {}
}

/// <summary>
/// What a wrapper's static callbacks need while one poll runs: a payload buffer reused
/// for every message (no allocation per message once it has grown), and the first
/// exception an event handler threw. A managed exception must not unwind through C
/// frames (IL2CPP aborts, Mono's behaviour is undefined), so it is caught in the
/// callback and rethrown by Poll once netkey_*_poll has returned.
/// </summary>
internal sealed class EventContext {
  byte[] buffer_ = new byte[2048];
  ExceptionDispatchInfo error_;

  /// <summary>A copy of data[0, size) in the reused buffer, valid until the next copy.</summary>
  public ArraySegment<byte> Copy(IntPtr data, UIntPtr size) {
    ulong n = size.ToUInt64();
    if (n > int.MaxValue) throw new OverflowException("netkey payload over 2 GiB");
    if ((int)n > buffer_.Length) {
      int grown = buffer_.Length;
      while (grown < (int)n) grown = grown > int.MaxValue / 2 ? int.MaxValue : grown * 2;
      buffer_ = new byte[grown];
    }
    if (n > 0) Marshal.Copy(data, buffer_, 0, (int)n);
    return new ArraySegment<byte>(buffer_, 0, (int)n);
  }

  /// <summary>Keeps the first handler exception of this poll (later ones are dropped).</summary>
  public void Fail(Exception e) {
    if (error_ == null) error_ = ExceptionDispatchInfo.Capture(e);
  }

  /// <summary>Rethrows the kept exception, with its original stack trace, and clears it.</summary>
  public void RethrowPending() {
    ExceptionDispatchInfo e = error_;
    error_ = null;
    if (e != null) e.Throw();
  }
}

/// <summary>UTF-8 C strings by hand (LPUTF8Str is missing from older profiles).</summary>
internal static class Utf8 {
  /// <summary>NUL-terminated UTF-8 bytes of s, or null for null.</summary>
  public static byte[] Encode(string s) {
    if (s == null) return null;
    var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
    Encoding.UTF8.GetBytes(s, 0, s.Length, bytes, 0);
    return bytes;
  }

  /// <summary>The string at a NUL-terminated UTF-8 pointer; null for IntPtr.Zero.</summary>
  public static string Decode(IntPtr p) {
    if (p == IntPtr.Zero) return null;
    int n = 0;
    while (Marshal.ReadByte(p, n) != 0) ++n;
    var bytes = new byte[n];
    Marshal.Copy(p, bytes, 0, n);
    return Encoding.UTF8.GetString(bytes);
  }
}

/// <summary>Pins UTF-8 copies of strings for the length of one native call.</summary>
internal sealed class PinnedStrings : IDisposable {
  readonly List<GCHandle> pins_ = new List<GCHandle>();

  /// <summary>A pointer valid until Dispose; IntPtr.Zero for null.</summary>
  public IntPtr Pin(string s) {
    byte[] bytes = Utf8.Encode(s);
    if (bytes == null) return IntPtr.Zero;
    GCHandle h = GCHandle.Alloc(bytes, GCHandleType.Pinned);
    pins_.Add(h);
    return h.AddrOfPinnedObject();
  }

  public void Dispose() {
    foreach (GCHandle h in pins_) h.Free();
    pins_.Clear();
  }
}

}  // namespace Netkey
