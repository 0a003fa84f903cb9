// NetkeyServer.cs: a game server (the group's Root) on ENet, over netkey_server_*.
using System;
using System.Runtime.InteropServices;

namespace Netkey {

using Session = NativeSession<NetkeyServer, NetkeyServerHandle>;

/// <summary>What NetkeyServer needs: where to listen and the server's identity files
/// (netkey-ca's output), then optional settings: null keeps netkey's default (netkey.h's
/// netkey_server_config), a negative number throws ArgumentOutOfRangeException, and a
/// value netkey refuses throws NetkeyException (InvalidArgument) from the constructor.</summary>
public sealed class NetkeyServerConfig {
  public string BindHost { get; set; } = "127.0.0.1";
  public int Port { get; set; }  // 0: any free port (read NetkeyServer.Port)
  public string CharterPath { get; set; }
  public string CaPublicPath { get; set; }
  public string CertificatePath { get; set; }  // role root
  public string KeyPath { get; set; }
  /// <summary>How rekeys are sent (default Auto).</summary>
  public NetkeyRekeyEncoding? RekeyEncoding { get; set; }
  /// <summary>Auto's switch from Whole to Slices, in bytes (default 4096).</summary>
  public int? AutoWholeMaxBytes { get; set; }
  /// <summary>Relay each member's messages to every other member (default true). With
  /// false, only the server's Message event sees them (an authoritative server's
  /// input); Message fires for every member message either way.</summary>
  public bool? RelayMemberTraffic { get; set; }
  /// <summary>Admission: a handshake not finished within this is dropped (default 10000).</summary>
  public int? HandshakeTimeoutMs { get; set; }
  /// <summary>How long an admission cookie stays valid (default 10000).</summary>
  public int? CookieLifetimeMs { get; set; }
  /// <summary>A silent member is dropped after PeerTimeoutMinMs..PeerTimeoutMaxMs
  /// (defaults 1000, 3000; PeerTimeoutLimit 16 is ENet's retry count).</summary>
  public int? PeerTimeoutMinMs { get; set; }
  public int? PeerTimeoutMaxMs { get; set; }
  public int? PeerTimeoutLimit { get; set; }
  /// <summary>Bytes per broadcast or member message (default 1200, at most 60000);
  /// clients must set the same.</summary>
  public int? MaxPayload { get; set; }

  // The native struct: defaults from netkey, then what this config sets.
  internal int Fill(PinnedStrings pins, out NetkeyNative.ServerConfig c) {
    int rc = NetkeyNative.InitServerConfig(out c);
    if (rc != NetkeyNative.NETKEY_OK) return rc;
    if (Port < 0 || Port > ushort.MaxValue) throw new ArgumentOutOfRangeException("config.Port");
    c.port = (ushort)Port;
    if (RekeyEncoding.HasValue) c.rekey_encoding = (int)RekeyEncoding.Value;
    Settings.Apply(AutoWholeMaxBytes, ref c.auto_whole_max_bytes, "config.AutoWholeMaxBytes");
    Settings.Apply(RelayMemberTraffic, ref c.relay_member_traffic);
    Settings.Apply(HandshakeTimeoutMs, ref c.handshake_timeout_ms, "config.HandshakeTimeoutMs");
    Settings.Apply(CookieLifetimeMs, ref c.cookie_lifetime_ms, "config.CookieLifetimeMs");
    Settings.Apply(PeerTimeoutMinMs, ref c.peer_timeout_min_ms, "config.PeerTimeoutMinMs");
    Settings.Apply(PeerTimeoutMaxMs, ref c.peer_timeout_max_ms, "config.PeerTimeoutMaxMs");
    Settings.Apply(PeerTimeoutLimit, ref c.peer_timeout_limit, "config.PeerTimeoutLimit");
    Settings.Apply(MaxPayload, ref c.max_payload, "config.MaxPayload");
    if (BindHost != null) c.bind_host = pins.Pin(BindHost);
    c.charter_path = pins.Pin(CharterPath);
    c.ca_public_path = pins.Pin(CaPublicPath);
    c.certificate_path = pins.Pin(CertificatePath);
    c.key_path = pins.Pin(KeyPath);
    return rc;
  }
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

  static readonly NativeFunctions<NetkeyServerHandle> Functions = new NativeFunctions<NetkeyServerHandle> {
    Owner = "NetkeyServer",
    CreateName = "netkey_server_create",
    PollName = "netkey_server_poll",
    Poll = (h, timeoutMs) => NetkeyNative.netkey_server_poll(h, timeoutMs),
    SendName = "netkey_server_broadcast",
    Send = (NetkeyServerHandle h, ref byte data, UIntPtr size) => NetkeyNative.netkey_server_broadcast(h, ref data, size),
    SendEmpty = h => NetkeyNative.netkey_server_broadcast(h, IntPtr.Zero, UIntPtr.Zero),
  };

  readonly Session session_;

  /// <summary>Loads the identity and binds the socket. Throws NetkeyException (Io,
  /// Malformed, Refused, InvalidArgument for a setting out of range: see
  /// netkey_server_create), ArgumentOutOfRangeException for a negative setting or port.</summary>
  public NetkeyServer(NetkeyServerConfig config) {
    if (config == null) throw new ArgumentNullException("config");
    session_ = new Session(this, Functions, (IntPtr user, PinnedStrings pins, out NetkeyServerHandle handle) => {
      NetkeyNative.ServerConfig c;
      handle = null;
      int rc = config.Fill(pins, out c);
      if (rc != NetkeyNative.NETKEY_OK) return rc;
      c.callbacks = Native.Callbacks(user);
      return NetkeyNative.netkey_server_create(ref c, out handle);
    });
  }

  /// <summary>The UDP port the server listens on.</summary>
  public int Port { get { return NetkeyNative.netkey_server_port(session_.Handle); } }
  /// <summary>The group's epoch: it grows with every rekey.</summary>
  public ulong Epoch { get { return NetkeyNative.netkey_server_epoch(session_.Handle); } }
  public int MemberCount {
    get { return (int)NetkeyNative.netkey_server_member_count(session_.Handle).ToUInt64(); }
  }
  /// <summary>The native handle, for NetkeyNative calls.</summary>
  public NetkeyServerHandle Handle { get { return session_.Handle; } }

  /// <summary>Services the network for up to timeoutMs (0: do not wait) and fires the
  /// events. Rethrows the first exception an event handler threw during this poll.
  /// Throws NetkeyException (Io) when the socket failed, InvalidOperationException when
  /// called from one of this server's own events.</summary>
  public void Poll(int timeoutMs = 0) { session_.Poll(timeoutMs); }

  /// <summary>Encrypts data once under the net key and sends it to every member. Throws
  /// NetkeyException (NotReady) while nobody is in the group.</summary>
  public void Broadcast(byte[] data) { session_.Send(data); }

  public void Broadcast(byte[] data, int offset, int count) { session_.Send(data, offset, count); }

#if !NETKEY_NO_SPAN
  public void Broadcast(ReadOnlySpan<byte> data) { session_.Send(data); }
#endif

  /// <summary>Destroys the server (its members time out). From inside an event handler,
  /// no further event fires and the handle is freed when Poll returns.</summary>
  public void Dispose() { session_.Dispose(); }

  // The C callbacks: static (IL2CPP cannot call back into instance delegates), the
  // server found through the weak GCHandle in `user` by Session.Fire, which lets no
  // exception escape to C. The lambdas capture nothing, so a callback allocates nothing.
  static class Native {
    static readonly IntPtr JoinedPtr = NativeCallbacks.Pointer(new NetkeyNative.ServerMemberFn(OnJoined));
    static readonly IntPtr LeftPtr = NativeCallbacks.Pointer(new NetkeyNative.ServerMemberFn(OnLeft));
    static readonly IntPtr RekeyedPtr = NativeCallbacks.Pointer(new NetkeyNative.RekeyedFn(OnRekeyed));
    static readonly IntPtr MessagePtr = NativeCallbacks.Pointer(new NetkeyNative.MessageFn(OnMessage));
    static readonly IntPtr RefusedPtr = NativeCallbacks.Pointer(new NetkeyNative.ServerRefusedFn(OnRefused));

    public static NetkeyNative.ServerCallbacks Callbacks(IntPtr user) {
      return new NetkeyNative.ServerCallbacks {
        user = user, joined = JoinedPtr, left = LeftPtr, rekeyed = RekeyedPtr, message = MessagePtr,
        refused = RefusedPtr,
      };
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.ServerMemberFn))]
    static void OnJoined(IntPtr user, uint member, IntPtr subject, ulong epoch) {
      Session.Fire(user, Args.Of(member, subject, epoch),
                   (s, a) => s.Joined?.Invoke(a.First, Utf8.Decode(a.Second), a.Third));
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.ServerMemberFn))]
    static void OnLeft(IntPtr user, uint member, IntPtr subject, ulong epoch) {
      Session.Fire(user, Args.Of(member, subject, epoch),
                   (s, a) => s.Left?.Invoke(a.First, Utf8.Decode(a.Second), a.Third));
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.RekeyedFn))]
    static void OnRekeyed(IntPtr user, ulong epoch) {
      Session.Fire(user, epoch, (s, e) => s.Rekeyed?.Invoke(e));
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.MessageFn))]
    static void OnMessage(IntPtr user, uint sender, IntPtr data, UIntPtr size) {
      Session.Fire(user, Args.Of(sender, data, size),
                   (s, a) => s.Message?.Invoke(a.First, s.session_.Events.Copy(a.Second, a.Third)));
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.ServerRefusedFn))]
    static void OnRefused(IntPtr user, int reason, IntPtr subject) {
      Session.Fire(user, Args.Of(reason, subject),
                   (s, a) => s.Refused?.Invoke((NetkeyRefusal)a.First, Utf8.Decode(a.Second)));
    }
  }
}

}  // namespace Netkey
