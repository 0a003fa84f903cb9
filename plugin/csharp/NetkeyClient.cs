// NetkeyClient.cs: a player, over netkey_client_*.
using System;
using System.Runtime.InteropServices;

namespace Netkey {

using Session = NativeSession<NetkeyClient, NetkeyClientHandle>;

/// <summary>What NetkeyClient needs: the server's address and the player's identity
/// files (netkey-ca's output), then optional settings as NetkeyServerConfig's (null keeps
/// netkey's default).
/// CertificatePath is of role participant; the PeerTimeout settings say when the server
/// is given up on (Left); MaxPayload must equal the server's.</summary>
public sealed class NetkeyClientConfig : NetkeyPeerConfig {
  public string ServerHost { get; set; } = "127.0.0.1";
  public int ServerPort { get; set; }
  /// <summary>No Welcome within this: Refused with None (default 10000).</summary>
  public int? HandshakeTimeoutMs { get; set; }

  internal int Fill(PinnedStrings pins, out NetkeyNative.ClientConfig c) {
    int rc = NetkeyNative.InitClientConfig(out c);
    if (rc != NetkeyNative.NETKEY_OK) return rc;
    if (ServerPort < 0 || ServerPort > ushort.MaxValue) throw new ArgumentOutOfRangeException("config.ServerPort");
    c.server_port = (ushort)ServerPort;
    Settings.Apply(HandshakeTimeoutMs, ref c.handshake_timeout_ms, "config.HandshakeTimeoutMs");
    ApplyPeerSettings(ref c.peer_timeout_min_ms, ref c.peer_timeout_max_ms, ref c.peer_timeout_limit, ref c.max_payload);
    if (ServerHost != null) c.server_host = pins.Pin(ServerHost);
    PinIdentity(pins, out c.charter_path, out c.ca_public_path, out c.certificate_path, out c.key_path);
    return rc;
  }
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
  /// server went away (it closed the connection or stopped answering for
  /// PeerTimeoutMinMs..PeerTimeoutMaxMs, 1..3 s by default). Nothing more arrives;
  /// Dispose the client.</summary>
  public event ClientLeftHandler Left;
  public event EpochEventHandler Rekeyed;
  /// <summary>Traffic from sender (0: the server); the payload is valid only during the
  /// event.</summary>
  public event MessageEventHandler Message;
  /// <summary>The same messages with their envelope: Kind (Broadcast, Team, Private,
  /// Member), the team a Team message went to, and the delivery it came with (ABI 2;
  /// with an ABI 1 libnetkey it never fires). Team and Private messages have sender 0
  /// in both events.</summary>
  public event MessageReceivedHandler MessageReceived;
  /// <summary>The server refused this client. A refusal before the handshake is
  /// unauthenticated, so it is reported only after two more tries (about 1 s).</summary>
  public event ClientRefusedHandler Refused;

  static readonly NativeFunctions<NetkeyClientHandle> Functions = new NativeFunctions<NetkeyClientHandle> {
    Owner = "NetkeyClient",
    CreateName = "netkey_client_create",
    PollName = "netkey_client_poll",
    Poll = (h, timeoutMs) => NetkeyNative.netkey_client_poll(h, timeoutMs),
    SendName = "netkey_client_send",
    Send = (NetkeyClientHandle h, ref byte data, UIntPtr size) => NetkeyNative.netkey_client_send(h, ref data, size),
    SendEmpty = h => NetkeyNative.netkey_client_send(h, IntPtr.Zero, UIntPtr.Zero),
  };

  readonly Session session_;

  /// <summary>Loads the identity (it does not connect yet). Throws NetkeyException (Io,
  /// Malformed, Refused, InvalidArgument: see netkey_client_create),
  /// ArgumentOutOfRangeException for a negative setting or port.</summary>
  public NetkeyClient(NetkeyClientConfig config) {
    if (config == null) throw new ArgumentNullException("config");
    session_ = new Session(this, Functions, (IntPtr user, PinnedStrings pins, out NetkeyClientHandle handle) => {
      NetkeyNative.ClientConfig c;
      handle = null;
      int rc = config.Fill(pins, out c);
      if (rc != NetkeyNative.NETKEY_OK) return rc;
      c.callbacks = Native.Callbacks(user);
      c.message_ex = Native.MessageExPtr;
      return NetkeyNative.netkey_client_create(ref c, out handle);
    });
  }

  /// <summary>The epoch of the net key this client holds (0 before Joined).</summary>
  public ulong Epoch { get { return NetkeyNative.netkey_client_epoch(session_.Handle); } }
  /// <summary>This client's member id in the group (0 before Joined).</summary>
  public uint MemberId { get { return NetkeyNative.netkey_client_member_id(session_.Handle); } }
  /// <summary>This client's team, or -1 (no teams, not joined yet). It changes at the
  /// rekey that carries a switch (NetkeyServer.AssignTeam).</summary>
  public int Team { get { return NetkeyNative.netkey_client_team(session_.Handle); } }
  /// <summary>The native handle, for NetkeyNative calls.</summary>
  public NetkeyClientHandle Handle { get { return session_.Handle; } }

  /// <summary>Starts the handshake on the first call, services the network for up to
  /// timeoutMs (0: do not wait) and fires the events. Rethrows the first exception an
  /// event handler threw during this poll. Throws NetkeyException (Io) when the socket
  /// failed, InvalidOperationException when called from one of this client's own
  /// events.</summary>
  public void Poll(int timeoutMs = 0) { session_.Poll(timeoutMs); }

  /// <summary>Member traffic, relayed by the server to the others. Throws
  /// NetkeyException (NotReady) before Joined.</summary>
  public void Send(byte[] data) { session_.Send(data); }

  public void Send(byte[] data, int offset, int count) { session_.Send(data, offset, count); }

#if !NETKEY_NO_SPAN
  public void Send(ReadOnlySpan<byte> data) { session_.Send(data); }
#endif

  static readonly NativeSendTo<NetkeyClientHandle> SendEx =
      (NetkeyClientHandle h, uint unused, ref byte d, UIntPtr n, int delivery) =>
          NetkeyNative.netkey_client_send_ex(h, ref d, n, delivery);
  static readonly NativeSendTo<NetkeyClientHandle> SendPrivateFn =
      (NetkeyClientHandle h, uint unused, ref byte d, UIntPtr n, int delivery) =>
          NetkeyNative.netkey_client_send_private(h, ref d, n, delivery);

  /// <summary>Send with a delivery class (ReliableOrdered for chat and RPCs). Throws
  /// NetkeyException: NotReady before Joined (reliable included), TooLarge.</summary>
  public void Send(byte[] data, NetkeyDelivery delivery) {
    if (data == null) throw new ArgumentNullException("data");
    session_.SendTo("netkey_client_send_ex", SendEx, 0, data, 0, data.Length, delivery);
  }

  /// <summary>A private message to the server alone (never relayed). Errors as
  /// Send(data, delivery).</summary>
  public void SendPrivate(byte[] data, NetkeyDelivery delivery = NetkeyDelivery.UnreliableSequenced) {
    if (data == null) throw new ArgumentNullException("data");
    session_.SendTo("netkey_client_send_private", SendPrivateFn, 0, data, 0, data.Length, delivery);
  }

#if !NETKEY_NO_SPAN
  public void Send(ReadOnlySpan<byte> data, NetkeyDelivery delivery) {
    session_.SendTo("netkey_client_send_ex", SendEx, 0, data, delivery);
  }

  public void SendPrivate(ReadOnlySpan<byte> data, NetkeyDelivery delivery = NetkeyDelivery.UnreliableSequenced) {
    session_.SendTo("netkey_client_send_private", SendPrivateFn, 0, data, delivery);
  }
#endif

  /// <summary>Sends a signed goodbye, flushed at once; Left fires on a later Poll. A Dispose
  /// right after still sends it (best effort: if it is lost, the server times the client
  /// out).</summary>
  public void Leave() {
    NetkeyException.Check(NetkeyNative.netkey_client_leave(session_.Handle), "netkey_client_leave");
  }

  /// <summary>Destroys the client without a goodbye (Leave first for one). From inside an
  /// event handler, no further event fires and the handle is freed when Poll returns.</summary>
  public void Dispose() { session_.Dispose(); }

  // The C callbacks: static (IL2CPP cannot call back into instance delegates), the
  // client found through the weak GCHandle in `user` by Session.Fire, which lets no
  // exception escape to C. The lambdas capture nothing, so a callback allocates nothing.
  static class Native {
    static readonly IntPtr JoinedPtr = NativeCallbacks.Pointer(new NetkeyNative.ClientJoinedFn(OnJoined));
    static readonly IntPtr LeftPtr = NativeCallbacks.Pointer(new NetkeyNative.ClientLeftFn(OnLeft));
    static readonly IntPtr RekeyedPtr = NativeCallbacks.Pointer(new NetkeyNative.RekeyedFn(OnRekeyed));
    static readonly IntPtr MessagePtr = NativeCallbacks.Pointer(new NetkeyNative.MessageFn(OnMessage));
    static readonly IntPtr RefusedPtr = NativeCallbacks.Pointer(new NetkeyNative.ClientRefusedFn(OnRefused));
    public static readonly IntPtr MessageExPtr = NativeCallbacks.Pointer(new NetkeyNative.MessageExFn(OnMessageEx));

    public static NetkeyNative.ClientCallbacks Callbacks(IntPtr user) {
      return new NetkeyNative.ClientCallbacks {
        user = user, joined = JoinedPtr, left = LeftPtr, rekeyed = RekeyedPtr, message = MessagePtr,
        refused = RefusedPtr,
      };
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.ClientJoinedFn))]
    static void OnJoined(IntPtr user, uint member, ulong epoch) {
      Session.Fire(user, Args.Of(member, epoch), (c, a) => c.Joined?.Invoke(a.First, a.Second));
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.ClientLeftFn))]
    static void OnLeft(IntPtr user) {
      Session.Fire(user, c => c.Left?.Invoke());
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.RekeyedFn))]
    static void OnRekeyed(IntPtr user, ulong epoch) {
      Session.Fire(user, epoch, (c, e) => c.Rekeyed?.Invoke(e));
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.MessageFn))]
    static void OnMessage(IntPtr user, uint sender, IntPtr data, UIntPtr size) {
      Session.Fire(user, Args.Of(sender, data, size),
                   (c, a) => c.Message?.Invoke(a.First, c.session_.Events.Copy(a.Second, a.Third)));
    }

    // ABI 2: fires instead of OnMessage; raises both events.
    [MonoPInvokeCallback(typeof(NetkeyNative.MessageExFn))]
    static void OnMessageEx(IntPtr user, uint sender, int kind, int team, int delivery, IntPtr data, UIntPtr size) {
      Session.Fire(user, Args.Of(NetkeyMessage.FromNative(sender, kind, team, delivery), data, size), (c, a) => {
        ArraySegment<byte> payload = c.session_.Events.Copy(a.Second, a.Third);
        c.Message?.Invoke(a.First.Sender, payload);
        c.MessageReceived?.Invoke(a.First, payload);
      });
    }

    [MonoPInvokeCallback(typeof(NetkeyNative.ClientRefusedFn))]
    static void OnRefused(IntPtr user, int reason) {
      Session.Fire(user, reason, (c, r) => c.Refused?.Invoke((NetkeyRefusal)r));
    }
  }
}

}  // namespace Netkey
