// Netkey.cs: what the C# binding's two halves share: error codes and NetkeyException,
// refusal reasons, the event delegates, UTF-8 marshalling by hand, the
// MonoPInvokeCallback attribute that IL2CPP looks for on native callbacks, and
// NativeSession, the handle lifetime, Poll, send and callback logic behind both
// NetkeyServer and NetkeyClient.
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
  StructSize = -8,  // a config's struct_size below what libnetkey accepts
  NoSuchTeam = -9,  // ABI 2: a team not below the charter's tree_teams (or no teams)
  NotAMember = -10, // ABI 2: a private message to a member id not in the group
  TooLarge = -11,   // ABI 2: a payload over MaxPayload (the ABI 1 calls say InvalidArgument)
}

/// <summary>netkey.h's netkey_delivery: how a message travels.</summary>
public enum NetkeyDelivery {
  ReliableOrdered = 0,      // retransmitted until it arrives, in order: kills, chat, RPCs
  UnreliableSequenced = 1,  // may be lost; a late one is dropped: snapshots (the default)
  Unreliable = 2,           // may be lost or arrive out of order
}

/// <summary>netkey.h's NETKEY_MESSAGE_*: what a message is.</summary>
public enum NetkeyMessageKind {
  Broadcast = 0,  // client: the server's broadcast to everyone
  Team = 1,       // client: the server's broadcast to this client's team
  Private = 2,    // client: the server's private message; server: a member's private message
  Member = 3,     // a member's traffic (relayed to a client, or at the server)
}

/// <summary>A message's envelope (MessageReceived): Sender 0 is the server; Team is the
/// team a Team message went to, at the server the sender's team, else -1.</summary>
public struct NetkeyMessage {
  public uint Sender;
  public NetkeyMessageKind Kind;
  public int Team;
  public NetkeyDelivery Delivery;

  // From the C ABI's message_ex callback arguments.
  internal static NetkeyMessage FromNative(uint sender, int kind, int team, int delivery) {
    return new NetkeyMessage {
      Sender = sender, Kind = (NetkeyMessageKind)kind, Team = team, Delivery = (NetkeyDelivery)delivery,
    };
  }
}

/// <summary>netkey.h's NETKEY_REKEY_*: how the server sends rekeys.</summary>
public enum NetkeyRekeyEncoding {
  Auto = 0,    // Whole while it is at most AutoWholeMaxBytes, Slices beyond
  Slices = 1,  // one sealed slice per member: least bytes per member
  Whole = 2,   // one signed message for everyone: least server CPU
}

/// <summary>The loaded libnetkey's release and ABI, and the ABI this binding mirrors.</summary>
public static class NetkeyLibrary {
  /// <summary>NETKEY_ABI_VERSION of the netkey.h this binding mirrors.</summary>
  public const uint BindingAbiVersion = NetkeyNative.AbiVersion;
  /// <summary>netkey_version(): the library's release, e.g. "0.1.0".</summary>
  public static string Version { get { return Utf8.Decode(NetkeyNative.netkey_version()); } }
  /// <summary>netkey_abi_version(). Below BindingAbiVersion, the library ignores the
  /// config settings it does not know (they keep its defaults).</summary>
  public static uint AbiVersion { get { return NetkeyNative.netkey_abi_version(); } }
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
public delegate void MessageReceivedHandler(NetkeyMessage message, ArraySegment<byte> payload);

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

/// <summary>The optional settings of the config classes: null keeps netkey's default
/// (netkey.h), a negative value is an ArgumentOutOfRangeException here, and netkey checks
/// the rest (NetkeyException with InvalidArgument).</summary>
/// <summary>What NetkeyServerConfig and NetkeyClientConfig both carry: the identity files
/// (netkey-ca's output) and the connection settings (null keeps netkey's default, a
/// negative number throws ArgumentOutOfRangeException from the constructor).</summary>
public abstract class NetkeyPeerConfig {
  internal NetkeyPeerConfig() {}

  public string CharterPath { get; set; }
  public string CaPublicPath { get; set; }
  public string CertificatePath { get; set; }  // role root for a server, participant for a client
  public string KeyPath { get; set; }
  /// <summary>The other end is given up on after PeerTimeoutMinMs..PeerTimeoutMaxMs of
  /// silence (defaults 1000, 3000; PeerTimeoutLimit 32 is ENet's retry count): a server
  /// drops the member, a client gets Left.</summary>
  public int? PeerTimeoutMinMs { get; set; }
  public int? PeerTimeoutMaxMs { get; set; }
  public int? PeerTimeoutLimit { get; set; }
  /// <summary>Bytes per broadcast or member message (default 1200, at most 60000); the
  /// server and its clients must set the same.</summary>
  public int? MaxPayload { get; set; }

  // The native config structs are distinct types with these fields alike, hence the refs.
  internal void ApplyPeerSettings(ref uint peerTimeoutMinMs, ref uint peerTimeoutMaxMs, ref uint peerTimeoutLimit,
                                  ref uint maxPayload) {
    Settings.Apply(PeerTimeoutMinMs, ref peerTimeoutMinMs, "config.PeerTimeoutMinMs");
    Settings.Apply(PeerTimeoutMaxMs, ref peerTimeoutMaxMs, "config.PeerTimeoutMaxMs");
    Settings.Apply(PeerTimeoutLimit, ref peerTimeoutLimit, "config.PeerTimeoutLimit");
    Settings.Apply(MaxPayload, ref maxPayload, "config.MaxPayload");
  }

  internal void PinIdentity(PinnedStrings pins, out IntPtr charterPath, out IntPtr caPublicPath,
                            out IntPtr certificatePath, out IntPtr keyPath) {
    charterPath = pins.Pin(CharterPath);
    caPublicPath = pins.Pin(CaPublicPath);
    certificatePath = pins.Pin(CertificatePath);
    keyPath = pins.Pin(KeyPath);
  }
}

internal static class Settings {
  public static void Apply(int? value, ref uint field, string name) {
    if (!value.HasValue) return;
    if (value.Value < 0) throw new ArgumentOutOfRangeException(name);
    field = (uint)value.Value;
  }

  public static void Apply(bool? value, ref int field) {
    if (value.HasValue) field = value.Value ? 1 : 0;
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

/// <summary>The native functions of one kind of handle that NativeSession calls, with the
/// names its exceptions give. One static instance per wrapper.</summary>
internal sealed class NativeFunctions<THandle> {
  public string Owner;                    // the wrapper: "NetkeyServer", for its exceptions
  public string CreateName, PollName, SendName;
  public Func<THandle, uint, int> Poll;   // netkey_*_poll
  public NativeSend<THandle> Send;        // the send with a first byte and a size
  public Func<THandle, int> SendEmpty;    // the same send with (NULL, 0)
}

internal delegate int NativeSend<THandle>(THandle handle, ref byte data, UIntPtr size);
// An ABI 2 send: `target` is the team or member where the call has one (ignored
// otherwise), `delivery` a netkey_delivery.
internal delegate int NativeSendTo<THandle>(THandle handle, uint target, ref byte data, UIntPtr size, int delivery);
// Fills a netkey_*_config (callbacks.user = user, strings pinned by pins) and calls
// netkey_*_create.
internal delegate int NativeCreate<THandle>(IntPtr user, PinnedStrings pins, out THandle handle);

/// <summary>Two or three arguments of a native callback, passed to NativeSession.Fire
/// without a closure (no allocation per callback).</summary>
internal struct Args<T1, T2> {
  public T1 First;
  public T2 Second;
}
internal struct Args<T1, T2, T3> {
  public T1 First;
  public T2 Second;
  public T3 Third;
}
internal static class Args {
  public static Args<T1, T2> Of<T1, T2>(T1 a, T2 b) {
    return new Args<T1, T2> { First = a, Second = b };
  }
  public static Args<T1, T2, T3> Of<T1, T2, T3>(T1 a, T2 b, T3 c) {
    return new Args<T1, T2, T3> { First = a, Second = b, Third = c };
  }
}

/// <summary>
/// What NetkeyServer and NetkeyClient share around their native handle: creating it with a
/// weak GCHandle to this session as callbacks.user (the handle frees it after the
/// destroy), Poll with handler exceptions kept and rethrown (EventContext), the sends,
/// Dispose from anywhere (even an event), and ObjectDisposedException after it. A field of
/// each wrapper rather than a base class: an internal base cannot sit under a public
/// class, and a public one would add to the API.
/// </summary>
internal sealed class NativeSession<TOwner, THandle>
    where TOwner : class
    where THandle : SafeHandle, INetkeyHandle {
  readonly TOwner owner_;
  readonly NativeFunctions<THandle> native_;
  readonly THandle handle_;
  readonly EventContext events_ = new EventContext();
  bool polling_, disposed_;

  /// <summary>Creates the handle through create. Throws NetkeyException when it fails.</summary>
  public NativeSession(TOwner owner, NativeFunctions<THandle> native, NativeCreate<THandle> create) {
    owner_ = owner;
    native_ = native;
    GCHandle self = GCHandle.Alloc(this, GCHandleType.Weak);
    int rc;
    try {
      using (var pins = new PinnedStrings()) {
        rc = create(GCHandle.ToIntPtr(self), pins, out handle_);
      }
    } finally {
      if (handle_ != null && !handle_.IsInvalid) {
        handle_.User = self;  // freed by the handle after netkey_*_destroy
      } else {
        self.Free();  // no handle (an error, or no libnetkey at all)
      }
    }
    if (rc != NetkeyNative.NETKEY_OK || handle_ == null || handle_.IsInvalid) {
      if (handle_ != null) handle_.Dispose();  // netkey.h: *out is NULL on error, so this frees nothing
      throw new NetkeyException(rc, native.CreateName);
    }
  }

  /// <summary>The handle; ObjectDisposedException after Dispose.</summary>
  public THandle Handle { get { ThrowIfDisposed(); return handle_; } }

  public EventContext Events { get { return events_; } }

  public void Poll(int timeoutMs) {
    if (timeoutMs < 0) throw new ArgumentOutOfRangeException("timeoutMs");
    ThrowIfDisposed();
    if (polling_) {
      throw new InvalidOperationException(native_.Owner + ".Poll from inside its own event: events do not nest");
    }
    int rc;
    polling_ = true;
    try {
      rc = native_.Poll(handle_, (uint)timeoutMs);
    } finally {
      polling_ = false;
    }
    events_.RethrowPending();
    if (!disposed_) NetkeyException.Check(rc, native_.PollName);
  }

  public void Send(byte[] data) {
    if (data == null) throw new ArgumentNullException("data");
    Send(data, 0, data.Length);
  }

  public void Send(byte[] data, int offset, int count) {
    if (data == null) throw new ArgumentNullException("data");
    if (offset < 0 || count < 0 || count > data.Length - offset) {
      throw new ArgumentOutOfRangeException("offset/count");
    }
    ThrowIfDisposed();
    int rc = count == 0 ? native_.SendEmpty(handle_) : native_.Send(handle_, ref data[offset], (UIntPtr)(uint)count);
    NetkeyException.Check(rc, native_.SendName);
  }

#if !NETKEY_NO_SPAN
  public void Send(ReadOnlySpan<byte> data) {
    ThrowIfDisposed();
    int rc = data.IsEmpty ? native_.SendEmpty(handle_)
                          : native_.Send(handle_, ref MemoryMarshal.GetReference(data), (UIntPtr)(uint)data.Length);
    NetkeyException.Check(rc, native_.SendName);
  }
#endif

  /// <summary>An ABI 2 send (a delivery class, maybe a team or member) through fn; an
  /// empty payload passes a reference to a scratch byte with size 0.</summary>
  public void SendTo(string name, NativeSendTo<THandle> fn, uint target, byte[] data, int offset, int count,
                     NetkeyDelivery delivery) {
    if (data == null) throw new ArgumentNullException("data");
    if (offset < 0 || count < 0 || count > data.Length - offset) {
      throw new ArgumentOutOfRangeException("offset/count");
    }
    ThrowIfDisposed();
    int rc = count == 0 ? fn(handle_, target, ref empty_[0], UIntPtr.Zero, (int)delivery)
                        : fn(handle_, target, ref data[offset], (UIntPtr)(uint)count, (int)delivery);
    NetkeyException.Check(rc, name);
  }

#if !NETKEY_NO_SPAN
  public void SendTo(string name, NativeSendTo<THandle> fn, uint target, ReadOnlySpan<byte> data,
                     NetkeyDelivery delivery) {
    ThrowIfDisposed();
    int rc = data.IsEmpty ? fn(handle_, target, ref empty_[0], UIntPtr.Zero, (int)delivery)
                          : fn(handle_, target, ref MemoryMarshal.GetReference(data), (UIntPtr)(uint)data.Length,
                               (int)delivery);
    NetkeyException.Check(rc, name);
  }
#endif

  readonly byte[] empty_ = new byte[1];  // what an empty ABI 2 send points at

  /// <summary>From inside an event, no further event fires and the handle is freed when
  /// Poll returns (the runtime holds a reference on it for the length of the call).</summary>
  public void Dispose() {
    disposed_ = true;
    handle_.Dispose();
  }

  void ThrowIfDisposed() {
    if (disposed_ || handle_.IsClosed) throw new ObjectDisposedException(native_.Owner);
  }

  /// <summary>
  /// The body of every native callback (a static [MonoPInvokeCallback] method, as IL2CPP
  /// requires): raise(owner, args) for the live wrapper behind `user`, none once it was
  /// disposed (even mid-poll). No exception escapes to C: one is kept for Poll to rethrow.
  /// raise should be a lambda that captures nothing, so that no call allocates.
  /// </summary>
  public static void Fire<TArgs>(IntPtr user, TArgs args, Action<TOwner, TArgs> raise) {
    NativeSession<TOwner, THandle> s = null;
    try {
      s = GCHandle.FromIntPtr(user).Target as NativeSession<TOwner, THandle>;
      if (s != null && !s.disposed_) raise(s.owner_, args);
    } catch (Exception e) {
      if (s != null) s.events_.Fail(e);
    }
  }

  /// <summary>Fire for a callback with no arguments.</summary>
  public static void Fire(IntPtr user, Action<TOwner> raise) {
    Fire(user, raise, (owner, r) => r(owner));
  }
}

/// <summary>Keeps callback delegates alive for the life of the process and gives their
/// native pointers (what IL2CPP and Mono's AOT need: delegates over static methods).</summary>
internal static class NativeCallbacks {
  static readonly List<Delegate> alive_ = new List<Delegate>();

  public static IntPtr Pointer(Delegate fn) {
    lock (alive_) alive_.Add(fn);
    return Marshal.GetFunctionPointerForDelegate(fn);
  }
}

}  // namespace Netkey
