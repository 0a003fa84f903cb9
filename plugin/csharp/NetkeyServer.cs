// NetkeyServer.cs: a game server (the group's Root) on ENet, over netkey_server_*.
using System;
using System.Runtime.InteropServices;

namespace Netkey {

using Session = NativeSession<NetkeyServer, NetkeyServerHandle>;

/// <summary>What NetkeyServer needs: where to listen and the server's identity files
/// (netkey-ca's output), then optional settings: null keeps netkey's default (netkey.h's
/// netkey_server_config), a negative number throws ArgumentOutOfRangeException, and a
/// value netkey refuses throws NetkeyException (InvalidArgument) from the constructor.
/// CertificatePath is of role root.</summary>
public sealed class NetkeyServerConfig : NetkeyPeerConfig {
  public string BindHost { get; set; } = "127.0.0.1";
  public int Port { get; set; }  // 0: any free port (read NetkeyServer.Port)
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
    ApplyPeerSettings(ref c.peer_timeout_min_ms, ref c.peer_timeout_max_ms, ref c.peer_timeout_limit, ref c.max_payload);
    if (BindHost != null) c.bind_host = pins.Pin(BindHost);
    PinIdentity(pins, out c.charter_path, out c.ca_public_path, out c.certificate_path, out c.key_path);
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
  /// <summary>A member's traffic, private messages to the server included; the payload
  /// is valid only during the event.</summary>
  public event MessageEventHandler Message;
  /// <summary>The same messages with their envelope: Kind Member or Private, the
  /// sender's team and the delivery (ABI 2; with an ABI 1 libnetkey it never fires).</summary>
  public event MessageReceivedHandler MessageReceived;
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
      c.message_ex = Native.MessageExPtr;
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

  static readonly NativeSendTo<NetkeyServerHandle> BroadcastEx =
      (NetkeyServerHandle h, uint unused, ref byte d, UIntPtr n, int delivery) =>
          NetkeyNative.netkey_server_broadcast_ex(h, ref d, n, delivery);
  static readonly NativeSendTo<NetkeyServerHandle> BroadcastTeam =
      (NetkeyServerHandle h, uint team, ref byte d, UIntPtr n, int delivery) =>
          NetkeyNative.netkey_server_broadcast_team(h, team, ref d, n, delivery);
  static readonly NativeSendTo<NetkeyServerHandle> SendPrivateFn =
      (NetkeyServerHandle h, uint member, ref byte d, UIntPtr n, int delivery) =>
          NetkeyNative.netkey_server_send_private(h, member, ref d, n, delivery);

  /// <summary>Broadcast with a delivery class (ReliableOrdered for events). Throws
  /// NetkeyException: NotReady with nobody in the group, TooLarge over MaxPayload.</summary>
  public void Broadcast(byte[] data, NetkeyDelivery delivery) {
    if (data == null) throw new ArgumentNullException("data");
    session_.SendTo("netkey_server_broadcast_ex", BroadcastEx, 0, data, 0, data.Length, delivery);
  }

  /// <summary>Encrypts data once under `team`'s key and sends it to that team's members
  /// only. Throws NetkeyException: NoSuchTeam (not below the charter's teams), NotReady
  /// (the team has no member), TooLarge; ArgumentOutOfRangeException for a negative team.</summary>
  public void BroadcastToTeam(int team, byte[] data, NetkeyDelivery delivery = NetkeyDelivery.UnreliableSequenced) {
    if (data == null) throw new ArgumentNullException("data");
    if (team < 0) throw new ArgumentOutOfRangeException("team");
    session_.SendTo("netkey_server_broadcast_team", BroadcastTeam, (uint)team, data, 0, data.Length, delivery);
  }

  /// <summary>A private message to `member` alone (never relayed). Throws
  /// NetkeyException: NotAMember, TooLarge.</summary>
  public void SendPrivate(uint member, byte[] data, NetkeyDelivery delivery = NetkeyDelivery.UnreliableSequenced) {
    if (data == null) throw new ArgumentNullException("data");
    session_.SendTo("netkey_server_send_private", SendPrivateFn, member, data, 0, data.Length, delivery);
  }

#if !NETKEY_NO_SPAN
  public void Broadcast(ReadOnlySpan<byte> data, NetkeyDelivery delivery) {
    session_.SendTo("netkey_server_broadcast_ex", BroadcastEx, 0, data, delivery);
  }

  public void BroadcastToTeam(int team, ReadOnlySpan<byte> data,
                              NetkeyDelivery delivery = NetkeyDelivery.UnreliableSequenced) {
    if (team < 0) throw new ArgumentOutOfRangeException("team");
    session_.SendTo("netkey_server_broadcast_team", BroadcastTeam, (uint)team, data, delivery);
  }

  public void SendPrivate(uint member, ReadOnlySpan<byte> data,
                          NetkeyDelivery delivery = NetkeyDelivery.UnreliableSequenced) {
    session_.SendTo("netkey_server_send_private", SendPrivateFn, member, data, delivery);
  }
#endif

  /// <summary>Puts the player with certificate subject `subject` in `team`: its join if
  /// it has not joined yet, else a switch at the next rekey. Throws NetkeyException
  /// (NoSuchTeam), ArgumentException for a null or empty subject,
  /// ArgumentOutOfRangeException for a negative team.</summary>
  public void AssignTeam(string subject, int team) {
    if (string.IsNullOrEmpty(subject)) throw new ArgumentException("a subject is required", "subject");
    if (team < 0) throw new ArgumentOutOfRangeException("team");
    NetkeyException.Check(NetkeyNative.netkey_server_assign_team(session_.Handle, Utf8.Encode(subject), (uint)team),
                          "netkey_server_assign_team");
  }

  /// <summary>A member's team, or -1 (not a member, or no teams).</summary>
  public int MemberTeam(uint member) { return NetkeyNative.netkey_server_member_team(session_.Handle, member); }

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
    public static readonly IntPtr MessageExPtr = NativeCallbacks.Pointer(new NetkeyNative.MessageExFn(OnMessageEx));

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

    // ABI 2: fires instead of OnMessage; raises both events.
    [MonoPInvokeCallback(typeof(NetkeyNative.MessageExFn))]
    static void OnMessageEx(IntPtr user, uint sender, int kind, int team, int delivery, IntPtr data, UIntPtr size) {
      Session.Fire(user, Args.Of(NetkeyMessage.FromNative(sender, kind, team, delivery), data, size), (s, a) => {
        ArraySegment<byte> payload = s.session_.Events.Copy(a.Second, a.Third);
        s.Message?.Invoke(a.First.Sender, payload);
        s.MessageReceived?.Invoke(a.First, payload);
      });
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.ServerRefusedFn))]
    static void OnRefused(IntPtr user, int reason, IntPtr subject) {
      Session.Fire(user, Args.Of(reason, subject),
                   (s, a) => s.Refused?.Invoke((NetkeyRefusal)a.First, Utf8.Decode(a.Second)));
    }
  }
}

}  // namespace Netkey
