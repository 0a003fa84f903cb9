// The C# binding (plugin/csharp) under Mono against libnetkey: a server and two clients
// over loopback that exchange broadcasts and member messages, a leave, a refusal, and
// the binding's own contracts (exceptions with netkey's text, ObjectDisposedException
// after Dispose, handler exceptions rethrown by Poll, a dispose from inside an event).
// The versioned config structs through the thin layer (an old, smaller struct gets the
// defaults; a bad struct_size is refused) and the new settings through the wrappers
// (relay off, a payload limit, range checks). ABI 2 (issue 12): teams, private messages and
// delivery classes on teams.charter (tree_teams 2).
// Usage: mono csharp_test.exe PKI_DIR (made by tests/cli/make_pki.sh); exit 1 on any
// failure. CTest runs it as csharp_test.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Text;
using Netkey;

static class CsharpTest {
  static int passes, fails;

  static void Check(bool ok, string what, [CallerLineNumber] int line = 0) {
    if (ok) {
      ++passes;
    } else {
      ++fails;
      Console.Error.WriteLine("FAIL csharp_test.cs:" + line + ": " + what);
    }
  }

  // Runs act; checks that it threw exactly T and returns it (null otherwise).
  static T Throws<T>(Action act, string what, [CallerLineNumber] int line = 0) where T : Exception {
    try {
      act();
    } catch (Exception e) {
      Check(e.GetType() == typeof(T), what + ": threw " + e.GetType().Name + " (" + e.Message + ")", line);
      return e as T;
    }
    Check(false, what + ": did not throw " + typeof(T).Name, line);
    return null;
  }

  static string dir;
  static string P(string file) { return dir + "/" + file; }

  static NetkeyServerConfig ServerConfig() {
    return new NetkeyServerConfig {
      CharterPath = P("match.charter"), CaPublicPath = P("ca/ca.pub"),
      CertificatePath = P("ca/game-server.cert"), KeyPath = P("ca/game-server.key"),
    };
  }

  static NetkeyClientConfig ClientConfig(string who, int port) {
    return new NetkeyClientConfig {
      ServerPort = port, CharterPath = P("match.charter"), CaPublicPath = P("ca/ca.pub"),
      CertificatePath = P("ca/" + who + ".cert"), KeyPath = P("ca/" + who + ".key"),
    };
  }

  // What one client saw.
  sealed class Seen {
    public int Joined, Left, Rekeyed, Refused;
    public uint Member;
    public NetkeyRefusal Reason;
    public readonly List<KeyValuePair<uint, byte[]>> Messages = new List<KeyValuePair<uint, byte[]>>();
    public readonly List<byte[]> Buffers = new List<byte[]>();  // ArraySegment.Array of each message
  }

  static Seen Watch(NetkeyClient c) {
    var s = new Seen();
    c.Joined += (member, epoch) => { s.Joined++; s.Member = member; };
    c.Left += () => s.Left++;
    c.Rekeyed += epoch => s.Rekeyed++;
    c.Refused += reason => { s.Refused++; s.Reason = reason; };
    c.Message += (sender, payload) => {
      s.Messages.Add(new KeyValuePair<uint, byte[]>(sender, payload.ToArray()));
      s.Buffers.Add(payload.Array);
    };
    return s;
  }

  // Polls the server and the live clients until done() or maxMs pass; true if done.
  static bool PollUntil(Func<bool> done, int maxMs, NetkeyServer server, params NetkeyClient[] clients) {
    var clock = Stopwatch.StartNew();
    while (!done()) {
      if (clock.ElapsedMilliseconds > maxMs) return false;
      server.Poll(1);
      foreach (NetkeyClient c in clients) {
        if (c != null) c.Poll(0);
      }
    }
    return true;
  }

  static byte[] Bytes(string s) { return Encoding.UTF8.GetBytes(s); }
  static bool Same(byte[] a, byte[] b) { return a.SequenceEqual(b); }

  static void Errors() {
    Check(NetkeyException.Strerror(-2).StartsWith("I/O error"), "strerror(NETKEY_ERR_IO)");
    Check(NetkeyException.Strerror(12345) == "unknown netkey error code", "strerror(unknown)");
    Throws<ArgumentNullException>(() => new NetkeyServer(null), "a null config");

    NetkeyServerConfig missing = ServerConfig();
    missing.CharterPath = P("does-not-exist");
    var io = Throws<NetkeyException>(() => new NetkeyServer(missing), "a missing charter");
    Check(io != null && io.Code == NetkeyError.Io && io.Message.Contains(NetkeyException.Strerror(-2)),
          "the exception carries the code and netkey_strerror's text");

    NetkeyServerConfig impostor = ServerConfig();  // alice is not the charter's server
    impostor.CertificatePath = P("ca/alice.cert");
    impostor.KeyPath = P("ca/alice.key");
    var refused = Throws<NetkeyException>(() => new NetkeyServer(impostor), "alice as the server");
    Check(refused != null && refused.Code == NetkeyError.Refused, "alice as the server: Refused");

    // The thin layer: an invalid (NULL) handle is an error code, never a crash.
    Check(NetkeyNative.netkey_client_poll(new NetkeyClientHandle(), 0) == (int)NetkeyError.InvalidArgument,
          "netkey_client_poll(NULL)");
    Check(NetkeyNative.netkey_server_port(new NetkeyServerHandle()) == 0, "netkey_server_port(NULL)");
  }

  static void Versions() {
    Check(Regex.IsMatch(NetkeyLibrary.Version, @"^\d+\.\d+\.\d+$"), "netkey_version: " + NetkeyLibrary.Version);
    Check(NetkeyLibrary.AbiVersion == NetkeyLibrary.BindingAbiVersion, "the library's ABI is the binding's");
    Check(NetkeyException.Strerror((int)NetkeyError.StructSize).Contains("struct_size"), "strerror(StructSize)");
  }

  // The binding's structs against libnetkey: init fills the defaults at the offsets
  // netkey.h documents (a layout slip would read back wrong values), create honours
  // struct_size both ways, and a size below the core is refused.
  static void NativeConfigs() {
    NetkeyNative.ServerConfig c;
    Check(NetkeyNative.InitServerConfig(out c) == 0, "InitServerConfig");
    Check(c.struct_size == NetkeyNative.ServerConfigSize && Marshal.PtrToStringAnsi(c.bind_host) == "127.0.0.1",
          "struct_size and bind_host");
    Check(c.rekey_encoding == (int)NetkeyRekeyEncoding.Auto && c.auto_whole_max_bytes == 4096 &&
              c.relay_member_traffic == 1 && c.handshake_timeout_ms == 10000 && c.cookie_lifetime_ms == 10000 &&
              c.peer_timeout_min_ms == 1000 && c.peer_timeout_max_ms == 3000 && c.peer_timeout_limit == 32 &&
              c.max_payload == 1200,
          "the server defaults, field by field");
    NetkeyNative.ClientConfig cc;
    Check(NetkeyNative.InitClientConfig(out cc) == 0 && cc.struct_size == NetkeyNative.ClientConfigSize &&
              cc.handshake_timeout_ms == 10000 && cc.peer_timeout_limit == 32 && cc.max_payload == 1200,
          "the client defaults");
    Check(c.message_ex == IntPtr.Zero && cc.message_ex == IntPtr.Zero, "message_ex defaults to NULL");
    Check(NetkeyNative.ServerConfigAbi1Size < NetkeyNative.ServerConfigSize &&
              NetkeyNative.ClientConfigAbi1Size < NetkeyNative.ClientConfigSize,
          "message_ex is the last field");
    Check(NetkeyNative.netkey_server_config_init_sized(out c, NetkeyNative.ServerConfigMinSize - 1) ==
              (int)NetkeyError.StructSize,
          "init below the core: StructSize");
    Check(NetkeyNative.netkey_client_config_init_sized(out cc, 0) == (int)NetkeyError.StructSize,
          "client init with size 0: StructSize");

    // A server config whose settings would be refused if read: refused at full size (the
    // control), accepted when struct_size says the caller knows only the core.
    var pins = new List<IntPtr>();
    Func<string, IntPtr> pin = path => {  // ASCII paths: ANSI is UTF-8 here
      IntPtr p = Marshal.StringToHGlobalAnsi(path);
      pins.Add(p);
      return p;
    };
    try {
      NetkeyNative.InitServerConfig(out c);
      c.charter_path = pin(P("match.charter"));
      c.ca_public_path = pin(P("ca/ca.pub"));
      c.certificate_path = pin(P("ca/game-server.cert"));
      c.key_path = pin(P("ca/game-server.key"));
      c.rekey_encoding = 99;
      c.max_payload = 0;
      NetkeyServerHandle h;
      Check(NetkeyNative.netkey_server_create(ref c, out h) == (int)NetkeyError.InvalidArgument && h.IsInvalid,
            "the full struct is read: its bad settings are refused");
      c.struct_size = NetkeyNative.ServerConfigMinSize;
      Check(NetkeyNative.netkey_server_create(ref c, out h) == 0 && !h.IsInvalid,
            "an old (core-only) struct: the fields past it are not read");
      Check(NetkeyNative.netkey_server_port(h) != 0, "that server listens");
      h.Dispose();
      c.struct_size = 0;
      Check(NetkeyNative.netkey_server_create(ref c, out h) == (int)NetkeyError.StructSize && h.IsInvalid,
            "struct_size 0: StructSize");
      c.struct_size = NetkeyNative.ServerConfigMinSize - 1;
      Check(NetkeyNative.netkey_server_create(ref c, out h) == (int)NetkeyError.StructSize && h.IsInvalid,
            "struct_size below the core: StructSize");
    } finally {
      foreach (IntPtr p in pins) Marshal.FreeHGlobal(p);
    }
  }

  static void Main(string[] args) {
    if (args.Length != 1) {
      Console.Error.WriteLine("usage: mono csharp_test.exe PKI_DIR");
      Environment.Exit(2);
    }
    dir = args[0];
    var clock = Stopwatch.StartNew();
    try {
      Errors();
      Versions();
      NativeConfigs();
      Join();
      Broadcasts();
      MemberTraffic();
      EmptyPayloads();
      HandlerException();
      AliceLeaves();
      CarolIsRefused();
      DisposeAll();
      RelayOffAndPayloadLimit();
      Teams();
      BadSettings();
      Forgotten();
    } catch (Exception e) {
      Check(false, "unexpected exception: " + e);
    }
    Console.WriteLine(passes + " passed, " + fails + " failed (" + clock.ElapsedMilliseconds + " ms)");
    Environment.Exit(fails == 0 ? 0 : 1);
  }

  // The match, step by step: the server, what it saw, two players and what they saw.
  static NetkeyServer server;
  static readonly List<string> joinedSubjects = new List<string>(), leftSubjects = new List<string>();
  static readonly List<KeyValuePair<NetkeyRefusal, string>> refusals =
      new List<KeyValuePair<NetkeyRefusal, string>>();
  static readonly List<KeyValuePair<uint, byte[]>> fromMembers = new List<KeyValuePair<uint, byte[]>>();
  static int serverRekeys;
  static NetkeyClient alice, bob;
  static Seen a, b;
  static readonly byte[] snapshot = Bytes("state: tick 1 \u2603");

  static void Join() {
    server = new NetkeyServer(ServerConfig());
    server.Joined += (member, subject, epoch) => joinedSubjects.Add(subject);
    server.Left += (member, subject, epoch) => leftSubjects.Add(subject);
    server.Rekeyed += epoch => serverRekeys++;
    server.Refused += (reason, subject) =>
        refusals.Add(new KeyValuePair<NetkeyRefusal, string>(reason, subject));
    server.Message += (sender, payload) =>
        fromMembers.Add(new KeyValuePair<uint, byte[]>(sender, payload.ToArray()));
    Check(server.Port != 0, "the server listens on a port");
    Check(server.MemberCount == 0, "no members yet");
    var notReady = Throws<NetkeyException>(() => server.Broadcast(Bytes("early")), "a broadcast to nobody");
    Check(notReady != null && notReady.Code == NetkeyError.NotReady, "a broadcast to nobody: NotReady");

    alice = new NetkeyClient(ClientConfig("alice", server.Port));
    bob = new NetkeyClient(ClientConfig("bob", server.Port));
    a = Watch(alice);
    b = Watch(bob);
    var early = Throws<NetkeyException>(() => alice.Send(Bytes("too soon")), "a send before joining");
    Check(early != null && early.Code == NetkeyError.NotReady, "a send before joining: NotReady");
    Check(PollUntil(() => a.Joined == 1 && b.Joined == 1 && alice.Epoch == server.Epoch &&
                          bob.Epoch == server.Epoch,
                    10000, server, alice, bob),
          "alice and bob join and reach the server's epoch");
    Check(a.Member != 0 && b.Member != 0 && a.Member != b.Member, "distinct member ids");
    Check(alice.MemberId == a.Member && bob.MemberId == b.Member, "MemberId matches the Joined event");
    Check(server.MemberCount == 2, "two members");
    Check(joinedSubjects.OrderBy(s => s).SequenceEqual(new[] {"alice", "bob"}),
          "the server saw alice and bob join");
    Check(server.Epoch > 0 && serverRekeys > 0, "the joins rekeyed the group");
  }

  // A whole array, a slice through ReadOnlySpan, then the maximum size; one over it.
  static void Broadcasts() {
    byte[] framed = Bytes("[[state: tick 2]]");
    byte[] big = new byte[1200];
    for (int i = 0; i < big.Length; ++i) big[i] = (byte)(i * 7);
    server.Broadcast(snapshot);
    server.Broadcast(new ReadOnlySpan<byte>(framed, 2, framed.Length - 4));
    server.Broadcast(big, 0, big.Length);
    Check(PollUntil(() => a.Messages.Count >= 3 && b.Messages.Count >= 3, 5000, server, alice, bob),
          "both players receive three broadcasts");
    foreach (Seen s in new[] {a, b}) {
      Check(s.Messages.Count == 3 && s.Messages.All(m => m.Key == 0),
            "three messages, all from the server (0)");
      Check(s.Messages.Count == 3 && Same(s.Messages[0].Value, snapshot) &&
                Same(s.Messages[1].Value, Bytes("state: tick 2")) && Same(s.Messages[2].Value, big),
            "the broadcasts arrive byte for byte, in order");
      Check(s.Buffers.Distinct().Count() == 1, "one reused receive buffer for every message");
    }
    var tooBig = Throws<NetkeyException>(() => server.Broadcast(new byte[1201]),
                                         "a broadcast over 1200 bytes");
    Check(tooBig != null && tooBig.Code == NetkeyError.InvalidArgument, "over the limit: InvalidArgument");
  }

  // Alice sends through byte[] + offset/count, bob through a span.
  static void MemberTraffic() {
    byte[] input = Bytes("xxmove northxx");
    alice.Send(input, 2, input.Length - 4);
    bob.Send(new ReadOnlySpan<byte>(Bytes("fire")));
    Check(PollUntil(() => a.Messages.Count >= 4 && b.Messages.Count >= 4 && fromMembers.Count >= 2,
                    5000, server, alice, bob),
          "member messages reach the other player and the server");
    Check(b.Messages.Count == 4 && b.Messages[3].Key == a.Member &&
              Same(b.Messages[3].Value, Bytes("move north")),
          "bob receives alice's input, from alice");
    Check(a.Messages.Count == 4 && a.Messages[3].Key == b.Member && Same(a.Messages[3].Value, Bytes("fire")),
          "alice receives bob's input, from bob");
    Check(fromMembers.Count == 2 &&
              fromMembers.Any(m => m.Key == a.Member && Same(m.Value, Bytes("move north"))) &&
              fromMembers.Any(m => m.Key == b.Member && Same(m.Value, Bytes("fire"))),
          "the server receives both inputs with their senders");
  }

  // Empty payloads go to C as (NULL, 0) and arrive as empty segments.
  static void EmptyPayloads() {
    server.Broadcast(new byte[0]);
    alice.Send(new ReadOnlySpan<byte>());
    Check(PollUntil(() => a.Messages.Count >= 5 && b.Messages.Count >= 6 && fromMembers.Count >= 3,
                    5000, server, alice, bob),
          "empty messages arrive");
    Check(a.Messages.Count == 5 && a.Messages[4].Key == 0 && a.Messages[4].Value.Length == 0,
          "alice: the server's empty broadcast");
    Check(b.Messages.Count == 6 && b.Messages.Skip(4).All(m => m.Value.Length == 0) &&
              b.Messages.Skip(4).Select(m => m.Key).OrderBy(k => k).SequenceEqual(new[] {0u, a.Member}),
          "bob: the server's empty broadcast and alice's empty message");
    Check(fromMembers.Count == 3 && fromMembers[2].Key == a.Member && fromMembers[2].Value.Length == 0,
          "the server: alice's empty message");
  }

  // A handler that throws: the exception waits until Poll has left C, then Poll rethrows
  // it. Here the handler's fault is a Poll from inside its own event.
  static void HandlerException() {
    int aliceHad = a.Messages.Count, bobHad = b.Messages.Count;
    MessageEventHandler nested = (sender, payload) => bob.Poll();
    bob.Message += nested;
    server.Broadcast(snapshot);
    InvalidOperationException rethrown = null;
    var wait = Stopwatch.StartNew();
    while (rethrown == null && wait.ElapsedMilliseconds < 5000) {
      server.Poll(1);
      try {
        bob.Poll(0);
      } catch (InvalidOperationException e) {
        rethrown = e;
      }
    }
    Check(rethrown != null && rethrown.Message.Contains("do not nest"),
          "Poll rethrows the handler's exception");
    bob.Message -= nested;
    Check(b.Messages.Count == bobHad + 1, "bob received that broadcast");
    Check(PollUntil(() => a.Messages.Count == aliceHad + 1, 5000, server, alice, bob),
          "alice got that broadcast too");
  }

  // Alice says goodbye and disposes herself inside Left; bob follows the rekey.
  static void AliceLeaves() {
    ulong before = server.Epoch;
    alice.Left += () => alice.Dispose();
    alice.Leave();
    NetkeyClient[] players = {alice, bob};
    Check(PollUntil(() => {
      if (a.Left == 1) players[0] = null;  // disposed by its own handler
      return leftSubjects.Count == 1 && a.Left == 1 && bob.Epoch == server.Epoch && bob.Epoch > before;
    }, 10000, server, players), "alice leaves; the server and bob move to a new epoch");
    Check(leftSubjects.SequenceEqual(new[] {"alice"}), "the server saw alice leave");
    Check(server.MemberCount == 1, "one member left");
    Check(b.Rekeyed > 0, "bob saw the rekey");
    Throws<ObjectDisposedException>(() => alice.Poll(), "Poll after a dispose inside Left");
    Throws<ObjectDisposedException>(() => { var unused = alice.Epoch; }, "Epoch after Dispose");
    Throws<ObjectDisposedException>(() => alice.Send(snapshot), "Send after Dispose");
    Throws<ObjectDisposedException>(() => alice.Leave(), "Leave after Dispose");
    alice.Dispose();  // twice is fine
    Check(a.Left == 1, "Left fired once");
  }

  // Carol is not on the charter's list: refused three times on the server (a refusal
  // before the handshake is soft: the client retries twice before believing it).
  static void CarolIsRefused() {
    var carol = new NetkeyClient(ClientConfig("carol", server.Port));
    Seen c = Watch(carol);
    Check(PollUntil(() => c.Refused == 1 && refusals.Count >= 3, 10000, server, bob, carol),
          "carol is refused");
    Check(c.Reason == NetkeyRefusal.NotOnAcl && c.Joined == 0, "carol: NotOnAcl, never joined");
    Check(refusals.Count == 3 && refusals.All(r => r.Key == NetkeyRefusal.NotOnAcl && r.Value == "carol"),
          "the server refused carol three times, NotOnAcl");
    Check(server.MemberCount == 1 && joinedSubjects.Count == 2, "nobody else joined");
    carol.Dispose();
  }

  // Every use after Dispose is ObjectDisposedException, even through the thin layer.
  static void DisposeAll() {
    NetkeyServerHandle raw = server.Handle;
    bob.Dispose();
    server.Dispose();
    Check(raw.IsClosed, "Dispose closed the server's handle");
    Throws<ObjectDisposedException>(() => server.Broadcast(snapshot), "Broadcast after Dispose");
    Throws<ObjectDisposedException>(() => server.Poll(), "Poll after Dispose");
    Throws<ObjectDisposedException>(() => { var unused = server.MemberCount; }, "MemberCount after Dispose");
    Throws<ObjectDisposedException>(() => NetkeyNative.netkey_server_poll(raw, 0), "the closed handle in C");
    Throws<ObjectDisposedException>(() => bob.Send(new ReadOnlySpan<byte>(snapshot)),
                                    "Send(span) after Dispose");
    server.Dispose();
  }

  // An authoritative server: RelayMemberTraffic false keeps alice's input to the server's
  // Message event (bob never sees it; the relay-on control is MemberTraffic above), and
  // MaxPayload 64 on every end caps broadcasts and sends.
  static void RelayOffAndPayloadLimit() {
    NetkeyServerConfig sc = ServerConfig();
    sc.RelayMemberTraffic = false;
    sc.MaxPayload = 64;
    sc.RekeyEncoding = NetkeyRekeyEncoding.Slices;
    using (var srv = new NetkeyServer(sc)) {
      var inputs = new List<KeyValuePair<uint, byte[]>>();
      srv.Message += (sender, payload) => inputs.Add(new KeyValuePair<uint, byte[]>(sender, payload.ToArray()));
      NetkeyClientConfig ac = ClientConfig("alice", srv.Port), bc = ClientConfig("bob", srv.Port);
      ac.MaxPayload = bc.MaxPayload = 64;
      using (var al = new NetkeyClient(ac))
      using (var bo = new NetkeyClient(bc)) {
        Seen sa = Watch(al), sb = Watch(bo);
        Check(PollUntil(() => sa.Joined == 1 && sb.Joined == 1 && al.Epoch == srv.Epoch && bo.Epoch == srv.Epoch,
                        10000, srv, al, bo),
              "relay off: alice and bob join");
        var big = Throws<NetkeyException>(() => srv.Broadcast(new byte[65]), "a 65-byte broadcast at MaxPayload 64");
        Check(big != null && big.Code == NetkeyError.InvalidArgument, "over MaxPayload: InvalidArgument");
        Throws<NetkeyException>(() => al.Send(new byte[65]), "a 65-byte send at MaxPayload 64");
        srv.Broadcast(new byte[64]);
        al.Send(Bytes("move north"));
        Check(PollUntil(() => inputs.Count == 1 && sb.Messages.Count == 1, 5000, srv, al, bo),
              "the server gets alice's input; bob the 64-byte broadcast");
        Check(inputs.Count == 1 && inputs[0].Key == sa.Member && Same(inputs[0].Value, Bytes("move north")),
              "the input, from alice");
        srv.Broadcast(Bytes("tick"));
        PollUntil(() => sb.Messages.Count >= 2, 5000, srv, al, bo);
        PollUntil(() => false, 300, srv, al, bo);  // time for a relayed copy to show up
        Check(sb.Messages.Count == 2 && sb.Messages.All(m => m.Key == 0) && sb.Messages[0].Value.Length == 64,
              "bob has only the server's two broadcasts");
      }
    }
  }

  // What one teams client saw through MessageReceived.
  sealed class Envelopes {
    public readonly List<KeyValuePair<NetkeyMessage, byte[]>> All = new List<KeyValuePair<NetkeyMessage, byte[]>>();
    public int Count(NetkeyMessageKind k) { return All.Count(m => m.Key.Kind == k); }
  }

  static NetkeyClient TeamsClient(string who, int port, out Envelopes seen, out Seen old) {
    NetkeyClientConfig cc = ClientConfig(who, port);
    cc.CharterPath = P("teams.charter");
    var c = new NetkeyClient(cc);
    var e = new Envelopes();
    c.MessageReceived += (m, payload) => e.All.Add(new KeyValuePair<NetkeyMessage, byte[]>(m, payload.ToArray()));
    seen = e;
    old = Watch(c);
    return c;
  }

  // act throws NetkeyException with `code`.
  static void Code(Action act, NetkeyError code, string what, [CallerLineNumber] int line = 0) {
    var e = Throws<NetkeyException>(act, what, line);
    Check(e != null && e.Code == code, what + ": " + code, line);
  }

  // A reliable broadcast everyone must receive: anything sent to anyone before it has
  // arrived by then (the events channel is ordered per peer) or never will.
  static void Sentinel(NetkeyServer srv, NetkeyClient[] cl, Envelopes[] e) {
    int[] want = e.Select(x => x.Count(NetkeyMessageKind.Broadcast) + 1).ToArray();
    srv.Broadcast(Bytes("sentinel"), NetkeyDelivery.ReliableOrdered);
    Check(PollUntil(() => Enumerable.Range(0, e.Length).All(i => e[i].Count(NetkeyMessageKind.Broadcast) >= want[i]),
                    5000, srv, cl),
          "the sentinel reaches everyone");
    PollUntil(() => false, 50, srv, cl);
  }

  // Teams, private messages and delivery classes: alice and carol in team 0, bob in team
  // 1; a team broadcast reaches its team only; a private message its member only; a
  // member's private message the server only; then carol switches to team 1.
  static void Teams() {
    NetkeyServerConfig sc = ServerConfig();
    sc.CharterPath = P("teams.charter");
    using (var srv = new NetkeyServer(sc)) {
      var atServer = new List<KeyValuePair<NetkeyMessage, byte[]>>();
      srv.MessageReceived += (m, payload) => atServer.Add(new KeyValuePair<NetkeyMessage, byte[]>(m, payload.ToArray()));
      Code(() => srv.BroadcastToTeam(2, Bytes("x")), NetkeyError.NoSuchTeam, "team 2 of 2");
      Code(() => srv.BroadcastToTeam(0, Bytes("x")), NetkeyError.NotReady, "a team with no member");
      Code(() => srv.SendPrivate(7, Bytes("x")), NetkeyError.NotAMember, "private to nobody");
      Code(() => srv.AssignTeam("alice", 5), NetkeyError.NoSuchTeam, "assign to team 5");
      Throws<ArgumentException>(() => srv.AssignTeam("", 0), "assign an empty subject");
      srv.AssignTeam("alice", 0);
      srv.AssignTeam("bob", 1);
      srv.AssignTeam("carol", 0);
      Envelopes ea, eb, ec;
      Seen oa, ob, oc;
      NetkeyClient al = TeamsClient("alice", srv.Port, out ea, out oa);
      NetkeyClient bo = TeamsClient("bob", srv.Port, out eb, out ob);
      NetkeyClient ca = TeamsClient("carol", srv.Port, out ec, out oc);
      var cl = new[] {al, bo, ca};
      var e = new[] {ea, eb, ec};
      try {
        Code(() => al.Send(Bytes("gg"), NetkeyDelivery.ReliableOrdered), NetkeyError.NotReady,
                              "a reliable send before the Welcome");
        Code(() => al.SendPrivate(Bytes("gg"), NetkeyDelivery.ReliableOrdered), NetkeyError.NotReady,
                              "a private send before the Welcome");
        Check(al.Team == -1, "no team before the Welcome");
        Check(PollUntil(() => oa.Joined == 1 && ob.Joined == 1 && oc.Joined == 1 && cl.All(c => c.Epoch == srv.Epoch),
                        10000, srv, cl),
              "teams: the three join");
        Check(al.Team == 0 && bo.Team == 1 && ca.Team == 0, "the teams assigned before the joins");
        Check(srv.MemberTeam(oa.Member) == 0 && srv.MemberTeam(ob.Member) == 1 && srv.MemberTeam(9999) == -1,
              "MemberTeam");

        srv.BroadcastToTeam(0, Bytes("team 0"), NetkeyDelivery.ReliableOrdered);
        Check(PollUntil(() => ea.Count(NetkeyMessageKind.Team) == 1 && ec.Count(NetkeyMessageKind.Team) == 1, 5000,
                        srv, cl),
              "team 0's broadcast reaches alice and carol");
        var m = ea.All.Last();
        Check(m.Key.Team == 0 && m.Key.Sender == 0 && m.Key.Delivery == NetkeyDelivery.ReliableOrdered &&
                  Same(m.Value, Bytes("team 0")),
              "its envelope: team 0, from the server, reliable");
        Check(oa.Messages.Last().Key == 0 && Same(oa.Messages.Last().Value, Bytes("team 0")),
              "the Message event fires for it too, with sender 0");
        Sentinel(srv, cl, e);
        Check(eb.Count(NetkeyMessageKind.Team) == 0, "bob (team 1) got nothing of team 0's broadcast");
        Code(() => srv.BroadcastToTeam(1, new byte[1201]), NetkeyError.TooLarge, "a team broadcast over 1200");

        srv.SendPrivate(oa.Member, Bytes("health 80"), NetkeyDelivery.ReliableOrdered);
        Check(PollUntil(() => ea.Count(NetkeyMessageKind.Private) == 1, 5000, srv, cl), "alice's private message");
        Check(Same(ea.All.Last().Value, Bytes("health 80")), "its bytes");
        Sentinel(srv, cl, e);
        Check(eb.Count(NetkeyMessageKind.Private) == 0 && ec.Count(NetkeyMessageKind.Private) == 0,
              "nobody else got alice's private message");
        Code(() => srv.SendPrivate(oa.Member, new byte[1201]), NetkeyError.TooLarge, "private over 1200");

        bo.SendPrivate(new ReadOnlySpan<byte>(Bytes("to the server")), NetkeyDelivery.ReliableOrdered);
        Check(PollUntil(() => atServer.Count == 1, 5000, srv, cl), "bob's private message reaches the server");
        Check(atServer.Count == 1 && atServer[0].Key.Kind == NetkeyMessageKind.Private &&
                  atServer[0].Key.Sender == ob.Member && atServer[0].Key.Team == 1 && Same(atServer[0].Value, Bytes("to the server")),
              "as Private, from bob, team 1");
        al.Send(Bytes("chat"), NetkeyDelivery.ReliableOrdered);
        Check(PollUntil(() => eb.Count(NetkeyMessageKind.Member) == 1 && ec.Count(NetkeyMessageKind.Member) == 1 &&
                                  atServer.Count == 2,
                        5000, srv, cl),
              "alice's reliable chat is relayed to bob and carol");
        Check(eb.All.Last().Key.Sender == oa.Member && eb.All.Last().Key.Delivery == NetkeyDelivery.ReliableOrdered,
              "the relayed chat: from alice, reliable");
        Check(ea.Count(NetkeyMessageKind.Member) == 0 && ec.All.Count(x => x.Key.Kind == NetkeyMessageKind.Member &&
                                                                             Same(x.Value, Bytes("to the server"))) == 0,
              "bob's private message was never relayed");

        ulong before = srv.Epoch;
        srv.AssignTeam("carol", 1);
        Check(PollUntil(() => srv.Epoch > before && cl.All(c => c.Epoch == srv.Epoch), 10000, srv, cl),
              "the switch commits");
        Check(ca.Team == 1 && srv.MemberTeam(oc.Member) == 1, "carol is in team 1");
        int ta = ea.Count(NetkeyMessageKind.Team), tb = eb.Count(NetkeyMessageKind.Team), tc = ec.Count(NetkeyMessageKind.Team);
        srv.BroadcastToTeam(0, Bytes("team 0 again"), NetkeyDelivery.ReliableOrdered);
        srv.BroadcastToTeam(1, Bytes("team 1 again"), NetkeyDelivery.ReliableOrdered);
        Sentinel(srv, cl, e);
        Check(ea.Count(NetkeyMessageKind.Team) == ta + 1 && eb.Count(NetkeyMessageKind.Team) == tb + 1 &&
                  ec.Count(NetkeyMessageKind.Team) == tc + 1,
              "one team broadcast each after the switch");
        Check(ec.All.Any(x => x.Key.Kind == NetkeyMessageKind.Team && x.Key.Team == 1 && Same(x.Value, Bytes("team 1 again"))) &&
                  !ec.All.Any(x => Same(x.Value, Bytes("team 0 again"))),
              "carol now reads team 1 and not team 0");
      } finally {
        foreach (NetkeyClient c in cl) c.Dispose();
      }
    }
  }

  // Settings netkey refuses, and ones the binding refuses before calling it.
  static void BadSettings() {
    NetkeyServerConfig zero = ServerConfig();
    zero.MaxPayload = 0;
    var e = Throws<NetkeyException>(() => new NetkeyServer(zero), "MaxPayload 0");
    Check(e != null && e.Code == NetkeyError.InvalidArgument, "MaxPayload 0: InvalidArgument");
    NetkeyServerConfig order = ServerConfig();
    order.PeerTimeoutMinMs = 500;
    order.PeerTimeoutMaxMs = 499;
    e = Throws<NetkeyException>(() => new NetkeyServer(order), "PeerTimeoutMinMs above PeerTimeoutMaxMs");
    Check(e != null && e.Code == NetkeyError.InvalidArgument, "peer timeouts out of order: InvalidArgument");
    NetkeyServerConfig encoding = ServerConfig();
    encoding.RekeyEncoding = (NetkeyRekeyEncoding)7;
    e = Throws<NetkeyException>(() => new NetkeyServer(encoding), "an unknown RekeyEncoding");
    Check(e != null && e.Code == NetkeyError.InvalidArgument, "an unknown RekeyEncoding: InvalidArgument");
    NetkeyServerConfig negative = ServerConfig();
    negative.CookieLifetimeMs = -1;
    Throws<ArgumentOutOfRangeException>(() => new NetkeyServer(negative), "a negative CookieLifetimeMs");
    NetkeyClientConfig client = ClientConfig("alice", 9);
    client.HandshakeTimeoutMs = 0;
    e = Throws<NetkeyException>(() => new NetkeyClient(client), "a client HandshakeTimeoutMs of 0");
    Check(e != null && e.Code == NetkeyError.InvalidArgument, "HandshakeTimeoutMs 0: InvalidArgument");
    client.HandshakeTimeoutMs = 1;
    client.PeerTimeoutLimit = 1;
    client.MaxPayload = 60000;
    using (var ok = new NetkeyClient(client)) Check(ok.MemberId == 0, "the same client with valid settings");
  }

  // A client never disposed is not kept alive by its callbacks' GCHandle (it is weak):
  // it is collected, and its SafeHandle's finalizer destroys the native client.
  static void Forgotten() {
    WeakReference forgotten = Forget(9);
    for (int i = 0; i < 5 && forgotten.IsAlive; ++i) {
      GC.Collect();
      GC.WaitForPendingFinalizers();
    }
    Check(!forgotten.IsAlive, "an undisposed client is collected");
  }

  [MethodImpl(MethodImplOptions.NoInlining)]
  static WeakReference Forget(int port) {
    var c = new NetkeyClient(ClientConfig("bob", port));
    c.Poll(0);
    return new WeakReference(c);
  }
}
