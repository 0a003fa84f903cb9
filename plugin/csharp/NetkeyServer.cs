// NetkeyServer.cs: a game server (the group's Root) on ENet, over netkey_server_*.
using System;
using System.Runtime.InteropServices;

namespace Netkey {

/// <summary>What NetkeyServer needs: where to listen and the server's identity files
/// (netkey-ca's output).</summary>
public sealed class NetkeyServerConfig {
  public string BindHost { get; set; } = "127.0.0.1";
  public int Port { get; set; }  // 0: any free port (read NetkeyServer.Port)
  public string CharterPath { get; set; }
  public string CaPublicPath { get; set; }
  public string CertificatePath { get; set; }  // role root
  public string KeyPath { get; set; }
}

/// <summary>
/// A netkey server. Call Poll every tick on one thread: events fire only inside Poll, on
/// that thread. An event handler may Dispose the server; no further event fires then.
/// Errors from netkey throw NetkeyException; any use after Dispose throws
/// ObjectDisposedException. Not thread-safe: one thread at a time.
/// </summary>
public sealed class NetkeyServer : IDisposable {
  /// <summary>A member joined (the group rekeyed to epoch).</summary>
  public event MemberEventHandler Joined;
  /// <summary>A member left or was removed (the group rekeyed to epoch).</summary>
  public event MemberEventHandler Left;
  public event EpochEventHandler Rekeyed;
  /// <summary>A member's traffic; the payload is valid only during the event.</summary>
  public event MessageEventHandler Message;
  /// <summary>A subject was refused admission.</summary>
  public event ServerRefusedHandler Refused;

  readonly NetkeyServerHandle handle_;
  readonly EventContext events_ = new EventContext();
  bool polling_, disposed_;

  /// <summary>Loads the identity and binds the socket. Throws NetkeyException (Io,
  /// Malformed, Refused: see netkey_server_create).</summary>
  public NetkeyServer(NetkeyServerConfig config) {
    if (config == null) throw new ArgumentNullException("config");
    if (config.Port < 0 || config.Port > ushort.MaxValue) {
      throw new ArgumentOutOfRangeException("config.Port");
    }
    NetkeyNative.ServerConfig c;
    NetkeyNative.netkey_server_config_default(out c);
    GCHandle self = GCHandle.Alloc(this, GCHandleType.Weak);
    c.port = (ushort)config.Port;
    c.callbacks.user = GCHandle.ToIntPtr(self);
    c.callbacks.joined = Native.JoinedPtr;
    c.callbacks.left = Native.LeftPtr;
    c.callbacks.rekeyed = Native.RekeyedPtr;
    c.callbacks.message = Native.MessagePtr;
    c.callbacks.refused = Native.RefusedPtr;
    int rc;
    try {
      using (var pins = new PinnedStrings()) {
        if (config.BindHost != null) c.bind_host = pins.Pin(config.BindHost);
        c.charter_path = pins.Pin(config.CharterPath);
        c.ca_public_path = pins.Pin(config.CaPublicPath);
        c.certificate_path = pins.Pin(config.CertificatePath);
        c.key_path = pins.Pin(config.KeyPath);
        rc = NetkeyNative.netkey_server_create(ref c, out handle_);
      }
    } finally {
      if (handle_ != null && !handle_.IsInvalid) {
        handle_.User = self;  // freed by the handle after netkey_server_destroy
      } else {
        self.Free();  // no handle (an error, or no libnetkey at all)
      }
    }
    if (rc != NetkeyNative.NETKEY_OK || handle_.IsInvalid) {
      handle_.Dispose();  // netkey.h: *out is NULL on error, so this frees nothing
      throw new NetkeyException(rc, "netkey_server_create");
    }
  }

  /// <summary>The UDP port the server listens on.</summary>
  public int Port { get { ThrowIfDisposed(); return NetkeyNative.netkey_server_port(handle_); } }
  /// <summary>The group's epoch: it grows with every rekey.</summary>
  public ulong Epoch { get { ThrowIfDisposed(); return NetkeyNative.netkey_server_epoch(handle_); } }
  public int MemberCount {
    get { ThrowIfDisposed(); return (int)NetkeyNative.netkey_server_member_count(handle_).ToUInt64(); }
  }
  /// <summary>The native handle, for NetkeyNative calls.</summary>
  public NetkeyServerHandle Handle { get { ThrowIfDisposed(); return handle_; } }

  /// <summary>Services the network for up to timeoutMs (0: do not wait) and fires the
  /// events. Rethrows the first exception an event handler threw during this poll.
  /// Throws NetkeyException (Io) when the socket failed, InvalidOperationException when
  /// called from one of this server's own events.</summary>
  public void Poll(int timeoutMs = 0) {
    if (timeoutMs < 0) throw new ArgumentOutOfRangeException("timeoutMs");
    ThrowIfDisposed();
    if (polling_) {
      throw new InvalidOperationException("NetkeyServer.Poll from inside its own event: events do not nest");
    }
    int rc;
    polling_ = true;
    try {
      rc = NetkeyNative.netkey_server_poll(handle_, (uint)timeoutMs);
    } finally {
      polling_ = false;
    }
    events_.RethrowPending();
    if (!disposed_) NetkeyException.Check(rc, "netkey_server_poll");
  }

  /// <summary>Encrypts data once under the net key and sends it to every member. Throws
  /// NetkeyException (NotReady) while nobody is in the group.</summary>
  public void Broadcast(byte[] data) {
    if (data == null) throw new ArgumentNullException("data");
    Broadcast(data, 0, data.Length);
  }

  public void Broadcast(byte[] data, int offset, int count) {
    if (data == null) throw new ArgumentNullException("data");
    if (offset < 0 || count < 0 || count > data.Length - offset) {
      throw new ArgumentOutOfRangeException("offset/count");
    }
    ThrowIfDisposed();
    int rc = count == 0
                 ? NetkeyNative.netkey_server_broadcast(handle_, IntPtr.Zero, UIntPtr.Zero)
                 : NetkeyNative.netkey_server_broadcast(handle_, ref data[offset], (UIntPtr)(uint)count);
    NetkeyException.Check(rc, "netkey_server_broadcast");
  }

#if !NETKEY_NO_SPAN
  public void Broadcast(ReadOnlySpan<byte> data) {
    ThrowIfDisposed();
    int rc = data.IsEmpty
                 ? NetkeyNative.netkey_server_broadcast(handle_, IntPtr.Zero, UIntPtr.Zero)
                 : NetkeyNative.netkey_server_broadcast(handle_, ref MemoryMarshal.GetReference(data),
                                                        (UIntPtr)(uint)data.Length);
    NetkeyException.Check(rc, "netkey_server_broadcast");
  }
#endif

  /// <summary>Destroys the server (its members time out). From inside an event handler,
  /// no further event fires and the handle is freed when Poll returns.</summary>
  public void Dispose() {
    disposed_ = true;
    handle_.Dispose();
  }

  void ThrowIfDisposed() {
    if (disposed_ || handle_.IsClosed) throw new ObjectDisposedException("NetkeyServer");
  }

  // The C callbacks: static (IL2CPP cannot call back into instance delegates), the
  // instance found through the weak GCHandle in `user`. No exception escapes to C.
  static class Native {
    static readonly NetkeyNative.ServerMemberFn JoinedFn = OnJoined;
    static readonly NetkeyNative.ServerMemberFn LeftFn = OnLeft;
    static readonly NetkeyNative.RekeyedFn RekeyedFn = OnRekeyed;
    static readonly NetkeyNative.MessageFn MessageFn = OnMessage;
    static readonly NetkeyNative.ServerRefusedFn RefusedFn = OnRefused;
    public static readonly IntPtr JoinedPtr = Marshal.GetFunctionPointerForDelegate(JoinedFn);
    public static readonly IntPtr LeftPtr = Marshal.GetFunctionPointerForDelegate(LeftFn);
    public static readonly IntPtr RekeyedPtr = Marshal.GetFunctionPointerForDelegate(RekeyedFn);
    public static readonly IntPtr MessagePtr = Marshal.GetFunctionPointerForDelegate(MessageFn);
    public static readonly IntPtr RefusedPtr = Marshal.GetFunctionPointerForDelegate(RefusedFn);

    // The live server behind `user`, or null once it was disposed (even mid-poll).
    static NetkeyServer From(IntPtr user) {
      var s = GCHandle.FromIntPtr(user).Target as NetkeyServer;
      return s != null && !s.disposed_ ? s : null;
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.ServerMemberFn))]
    static void OnJoined(IntPtr user, uint member, IntPtr subject, ulong epoch) {
      NetkeyServer s = null;
      try {
        s = From(user);
        MemberEventHandler h = s != null ? s.Joined : null;
        if (h != null) h(member, Utf8.Decode(subject), epoch);
      } catch (Exception e) {
        if (s != null) s.events_.Fail(e);
      }
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.ServerMemberFn))]
    static void OnLeft(IntPtr user, uint member, IntPtr subject, ulong epoch) {
      NetkeyServer s = null;
      try {
        s = From(user);
        MemberEventHandler h = s != null ? s.Left : null;
        if (h != null) h(member, Utf8.Decode(subject), epoch);
      } catch (Exception e) {
        if (s != null) s.events_.Fail(e);
      }
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.RekeyedFn))]
    static void OnRekeyed(IntPtr user, ulong epoch) {
      NetkeyServer s = null;
      try {
        s = From(user);
        EpochEventHandler h = s != null ? s.Rekeyed : null;
        if (h != null) h(epoch);
      } catch (Exception e) {
        if (s != null) s.events_.Fail(e);
      }
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.MessageFn))]
    static void OnMessage(IntPtr user, uint sender, IntPtr data, UIntPtr size) {
      NetkeyServer s = null;
      try {
        s = From(user);
        MessageEventHandler h = s != null ? s.Message : null;
        if (h != null) h(sender, s.events_.Copy(data, size));
      } catch (Exception e) {
        if (s != null) s.events_.Fail(e);
      }
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.ServerRefusedFn))]
    static void OnRefused(IntPtr user, int reason, IntPtr subject) {
      NetkeyServer s = null;
      try {
        s = From(user);
        ServerRefusedHandler h = s != null ? s.Refused : null;
        if (h != null) h((NetkeyRefusal)reason, Utf8.Decode(subject));
      } catch (Exception e) {
        if (s != null) s.events_.Fail(e);
      }
    }
  }
}

}  // namespace Netkey
