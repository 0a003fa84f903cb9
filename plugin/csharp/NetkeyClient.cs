// NetkeyClient.cs: a player, over netkey_client_*.
using System;
using System.Runtime.InteropServices;

namespace Netkey {

/// <summary>What NetkeyClient needs: the server's address and the player's identity
/// files (netkey-ca's output).</summary>
public sealed class NetkeyClientConfig {
  public string ServerHost { get; set; } = "127.0.0.1";
  public int ServerPort { get; set; }
  public string CharterPath { get; set; }
  public string CaPublicPath { get; set; }
  public string CertificatePath { get; set; }  // role participant
  public string KeyPath { get; set; }
}

/// <summary>
/// A netkey client. The handshake starts on the first Poll; call Poll every tick on one
/// thread: events fire only inside Poll, on that thread. An event handler may Dispose
/// the client (in Left, say); no further event fires then. Errors from netkey throw
/// NetkeyException; any use after Dispose throws ObjectDisposedException. Not
/// thread-safe: one thread at a time.
/// </summary>
public sealed class NetkeyClient : IDisposable {
  /// <summary>The Welcome arrived: this client is member `member` at `epoch`.</summary>
  public event ClientJoinedHandler Joined;
  /// <summary>The connection ended, at most once: after Leave, a removal, or when the
  /// server went away (it closed the connection or stopped answering for 1..3 s).
  /// Nothing more arrives; Dispose the client.</summary>
  public event ClientLeftHandler Left;
  public event EpochEventHandler Rekeyed;
  /// <summary>Traffic from sender (0: the server); the payload is valid only during the
  /// event.</summary>
  public event MessageEventHandler Message;
  /// <summary>The server refused this client. A refusal before the handshake is
  /// unauthenticated, so it is reported only after two more tries (about 1 s).</summary>
  public event ClientRefusedHandler Refused;

  readonly NetkeyClientHandle handle_;
  readonly EventContext events_ = new EventContext();
  bool polling_, disposed_;

  /// <summary>Loads the identity (it does not connect yet). Throws NetkeyException (Io,
  /// Malformed, Refused: see netkey_client_create).</summary>
  public NetkeyClient(NetkeyClientConfig config) {
    if (config == null) throw new ArgumentNullException("config");
    if (config.ServerPort < 0 || config.ServerPort > ushort.MaxValue) {
      throw new ArgumentOutOfRangeException("config.ServerPort");
    }
    NetkeyNative.ClientConfig c;
    NetkeyNative.netkey_client_config_default(out c);
    GCHandle self = GCHandle.Alloc(this, GCHandleType.Weak);
    c.server_port = (ushort)config.ServerPort;
    c.callbacks.user = GCHandle.ToIntPtr(self);
    c.callbacks.joined = Native.JoinedPtr;
    c.callbacks.left = Native.LeftPtr;
    c.callbacks.rekeyed = Native.RekeyedPtr;
    c.callbacks.message = Native.MessagePtr;
    c.callbacks.refused = Native.RefusedPtr;
    int rc;
    try {
      using (var pins = new PinnedStrings()) {
        if (config.ServerHost != null) c.server_host = pins.Pin(config.ServerHost);
        c.charter_path = pins.Pin(config.CharterPath);
        c.ca_public_path = pins.Pin(config.CaPublicPath);
        c.certificate_path = pins.Pin(config.CertificatePath);
        c.key_path = pins.Pin(config.KeyPath);
        rc = NetkeyNative.netkey_client_create(ref c, out handle_);
      }
    } finally {
      if (handle_ != null && !handle_.IsInvalid) {
        handle_.User = self;  // freed by the handle after netkey_client_destroy
      } else {
        self.Free();  // no handle (an error, or no libnetkey at all)
      }
    }
    if (rc != NetkeyNative.NETKEY_OK || handle_.IsInvalid) {
      handle_.Dispose();  // netkey.h: *out is NULL on error, so this frees nothing
      throw new NetkeyException(rc, "netkey_client_create");
    }
  }

  /// <summary>The epoch of the net key this client holds (0 before Joined).</summary>
  public ulong Epoch { get { ThrowIfDisposed(); return NetkeyNative.netkey_client_epoch(handle_); } }
  /// <summary>This client's member id in the group (0 before Joined).</summary>
  public uint MemberId { get { ThrowIfDisposed(); return NetkeyNative.netkey_client_member_id(handle_); } }
  /// <summary>The native handle, for NetkeyNative calls.</summary>
  public NetkeyClientHandle Handle { get { ThrowIfDisposed(); return handle_; } }

  /// <summary>Starts the handshake on the first call, services the network for up to
  /// timeoutMs (0: do not wait) and fires the events. Rethrows the first exception an
  /// event handler threw during this poll. Throws NetkeyException (Io) when the socket
  /// failed, InvalidOperationException when called from one of this client's own
  /// events.</summary>
  public void Poll(int timeoutMs = 0) {
    if (timeoutMs < 0) throw new ArgumentOutOfRangeException("timeoutMs");
    ThrowIfDisposed();
    if (polling_) {
      throw new InvalidOperationException("NetkeyClient.Poll from inside its own event: events do not nest");
    }
    int rc;
    polling_ = true;
    try {
      rc = NetkeyNative.netkey_client_poll(handle_, (uint)timeoutMs);
    } finally {
      polling_ = false;
    }
    events_.RethrowPending();
    if (!disposed_) NetkeyException.Check(rc, "netkey_client_poll");
  }

  /// <summary>Member traffic, relayed by the server to the others. Throws
  /// NetkeyException (NotReady) before Joined.</summary>
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
    int rc = count == 0
                 ? NetkeyNative.netkey_client_send(handle_, IntPtr.Zero, UIntPtr.Zero)
                 : NetkeyNative.netkey_client_send(handle_, ref data[offset], (UIntPtr)(uint)count);
    NetkeyException.Check(rc, "netkey_client_send");
  }

#if !NETKEY_NO_SPAN
  public void Send(ReadOnlySpan<byte> data) {
    ThrowIfDisposed();
    int rc = data.IsEmpty
                 ? NetkeyNative.netkey_client_send(handle_, IntPtr.Zero, UIntPtr.Zero)
                 : NetkeyNative.netkey_client_send(handle_, ref MemoryMarshal.GetReference(data),
                                                   (UIntPtr)(uint)data.Length);
    NetkeyException.Check(rc, "netkey_client_send");
  }
#endif

  /// <summary>Sends a signed goodbye, flushed at once; Left fires on a later Poll. A Dispose
  /// right after still sends it (best effort: if it is lost, the server times the client
  /// out).</summary>
  public void Leave() {
    ThrowIfDisposed();
    NetkeyException.Check(NetkeyNative.netkey_client_leave(handle_), "netkey_client_leave");
  }

  /// <summary>Destroys the client without a goodbye (Leave first for one). From inside an
  /// event handler, no further event fires and the handle is freed when Poll returns.</summary>
  public void Dispose() {
    disposed_ = true;
    handle_.Dispose();
  }

  void ThrowIfDisposed() {
    if (disposed_ || handle_.IsClosed) throw new ObjectDisposedException("NetkeyClient");
  }

  // The C callbacks: static (IL2CPP cannot call back into instance delegates), the
  // instance found through the weak GCHandle in `user`. No exception escapes to C.
  static class Native {
    static readonly NetkeyNative.ClientJoinedFn JoinedFn = OnJoined;
    static readonly NetkeyNative.ClientLeftFn LeftFn = OnLeft;
    static readonly NetkeyNative.RekeyedFn RekeyedFn = OnRekeyed;
    static readonly NetkeyNative.MessageFn MessageFn = OnMessage;
    static readonly NetkeyNative.ClientRefusedFn RefusedFn = OnRefused;
    public static readonly IntPtr JoinedPtr = Marshal.GetFunctionPointerForDelegate(JoinedFn);
    public static readonly IntPtr LeftPtr = Marshal.GetFunctionPointerForDelegate(LeftFn);
    public static readonly IntPtr RekeyedPtr = Marshal.GetFunctionPointerForDelegate(RekeyedFn);
    public static readonly IntPtr MessagePtr = Marshal.GetFunctionPointerForDelegate(MessageFn);
    public static readonly IntPtr RefusedPtr = Marshal.GetFunctionPointerForDelegate(RefusedFn);

    // The live client behind `user`, or null once it was disposed (even mid-poll).
    static NetkeyClient From(IntPtr user) {
      var c = GCHandle.FromIntPtr(user).Target as NetkeyClient;
      return c != null && !c.disposed_ ? c : null;
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.ClientJoinedFn))]
    static void OnJoined(IntPtr user, uint member, ulong epoch) {
      NetkeyClient c = null;
      try {
        c = From(user);
        ClientJoinedHandler h = c != null ? c.Joined : null;
        if (h != null) h(member, epoch);
      } catch (Exception e) {
        if (c != null) c.events_.Fail(e);
      }
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.ClientLeftFn))]
    static void OnLeft(IntPtr user) {
      NetkeyClient c = null;
      try {
        c = From(user);
        ClientLeftHandler h = c != null ? c.Left : null;
        if (h != null) h();
      } catch (Exception e) {
        if (c != null) c.events_.Fail(e);
      }
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.RekeyedFn))]
    static void OnRekeyed(IntPtr user, ulong epoch) {
      NetkeyClient c = null;
      try {
        c = From(user);
        EpochEventHandler h = c != null ? c.Rekeyed : null;
        if (h != null) h(epoch);
      } catch (Exception e) {
        if (c != null) c.events_.Fail(e);
      }
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.MessageFn))]
    static void OnMessage(IntPtr user, uint sender, IntPtr data, UIntPtr size) {
      NetkeyClient c = null;
      try {
        c = From(user);
        MessageEventHandler h = c != null ? c.Message : null;
        if (h != null) h(sender, c.events_.Copy(data, size));
      } catch (Exception e) {
        if (c != null) c.events_.Fail(e);
      }
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.ClientRefusedFn))]
    static void OnRefused(IntPtr user, int reason) {
      NetkeyClient c = null;
      try {
        c = From(user);
        ClientRefusedHandler h = c != null ? c.Refused : null;
        if (h != null) h((NetkeyRefusal)reason);
      } catch (Exception e) {
        if (c != null) c.events_.Fail(e);
      }
    }
  }
}

}  // namespace Netkey
