// NetkeyNative.cs: the thin P/Invoke layer, one extern per function of netkey.h with
// the C names, the config and callback structs laid out as in C, and SafeHandles that
// call netkey_*_destroy. NetkeyServer and NetkeyClient build on it; use it directly only
// to do something they do not.
//
// Contracts are netkey.h's: strings and buffers passed in are copied before a call
// returns; callbacks fire only inside netkey_*_poll on the polling thread; a handle is
// used by one thread at a time. A closed SafeHandle makes a call throw
// ObjectDisposedException before it reaches C; an invalid (zero) one reaches C as NULL,
// which netkey answers with NETKEY_ERR_INVALID_ARGUMENT (or 0 from the getters).
using System;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Netkey {

public static class NetkeyNative {
#if UNITY_IOS && !UNITY_EDITOR
  public const string Lib = "__Internal";  // iOS links native plugins statically
#else
  public const string Lib = "netkey";  // libnetkey.so, netkey.dll, libnetkey.dylib
#endif

  public const int NETKEY_OK = 0;

  // ------------------------------------------------------------------ callbacks
  // The C function pointer types. `user` is netkey_*_callbacks.user; `subject` is a
  // NUL-terminated UTF-8 string and `data` a buffer, both valid only during the call.
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  public delegate void ServerMemberFn(IntPtr user, uint member, IntPtr subject, ulong epoch);
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  public delegate void ServerRefusedFn(IntPtr user, int reason, IntPtr subject);
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  public delegate void ClientJoinedFn(IntPtr user, uint member, ulong epoch);
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  public delegate void ClientLeftFn(IntPtr user);
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  public delegate void ClientRefusedFn(IntPtr user, int reason);
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  public delegate void RekeyedFn(IntPtr user, ulong epoch);
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  public delegate void MessageFn(IntPtr user, uint sender, IntPtr data, UIntPtr size);

  // Function pointer fields (IntPtr from Marshal.GetFunctionPointerForDelegate over a
  // delegate kept alive for as long as the handle), so the structs stay blittable.
  [StructLayout(LayoutKind.Sequential)]
  public struct ServerCallbacks {
    public IntPtr user;
    public IntPtr joined;   // ServerMemberFn
    public IntPtr left;     // ServerMemberFn
    public IntPtr rekeyed;  // RekeyedFn
    public IntPtr message;  // MessageFn
    public IntPtr refused;  // ServerRefusedFn
  }

  // netkey_server_config. struct_size must be Marshal.SizeOf(typeof(ServerConfig)):
  // InitServerConfig sets it. Fields are only ever appended (netkey.h, "How the ABI
  // grows"), so this struct stays valid against a newer libnetkey.
  [StructLayout(LayoutKind.Sequential)]
  public struct ServerConfig {
    public uint struct_size;
    public ushort port;       // 0: any free port
    public IntPtr bind_host;  // UTF-8; default "127.0.0.1"
    public IntPtr charter_path;
    public IntPtr ca_public_path;
    public IntPtr certificate_path;
    public IntPtr key_path;
    public ServerCallbacks callbacks;
    // The core ends here (ServerConfigMinSize).
    public int rekey_encoding;  // NetkeyRekeyEncoding
    public uint auto_whole_max_bytes;
    public int relay_member_traffic;  // 0 or 1
    public uint handshake_timeout_ms;
    public uint cookie_lifetime_ms;
    public uint peer_timeout_min_ms;
    public uint peer_timeout_max_ms;
    public uint peer_timeout_limit;
    public uint max_payload;
  }

  [StructLayout(LayoutKind.Sequential)]
  public struct ClientCallbacks {
    public IntPtr user;
    public IntPtr joined;   // ClientJoinedFn
    public IntPtr left;     // ClientLeftFn
    public IntPtr rekeyed;  // RekeyedFn
    public IntPtr message;  // MessageFn
    public IntPtr refused;  // ClientRefusedFn
  }

  // netkey_client_config; struct_size as ServerConfig's (InitClientConfig sets it).
  [StructLayout(LayoutKind.Sequential)]
  public struct ClientConfig {
    public uint struct_size;
    public ushort server_port;
    public IntPtr server_host;  // UTF-8; default "127.0.0.1"
    public IntPtr charter_path;
    public IntPtr ca_public_path;
    public IntPtr certificate_path;
    public IntPtr key_path;
    public ClientCallbacks callbacks;
    // The core ends here (ClientConfigMinSize).
    public uint handshake_timeout_ms;
    public uint peer_timeout_min_ms;
    public uint peer_timeout_max_ms;
    public uint peer_timeout_limit;
    public uint max_payload;
  }

  // NETKEY_ABI_VERSION of the netkey.h this file mirrors.
  public const uint AbiVersion = 1;
  // sizeof the config structs as this binding lays them out, and the smallest
  // struct_size libnetkey accepts (NETKEY_*_CONFIG_MIN_SIZE: the core, up to the callbacks).
  public static readonly uint ServerConfigSize = (uint)Marshal.SizeOf(typeof(ServerConfig));
  public static readonly uint ClientConfigSize = (uint)Marshal.SizeOf(typeof(ClientConfig));
  public static readonly uint ServerConfigMinSize =
      (uint)Marshal.OffsetOf(typeof(ServerConfig), "rekey_encoding").ToInt64();
  public static readonly uint ClientConfigMinSize =
      (uint)Marshal.OffsetOf(typeof(ClientConfig), "handshake_timeout_ms").ToInt64();

  /// <summary>netkey_server_config_init: the defaults, with struct_size set to this
  /// binding's ServerConfigSize. Returns the netkey error code.</summary>
  public static int InitServerConfig(out ServerConfig config) {
    return netkey_server_config_init_sized(out config, ServerConfigSize);
  }

  /// <summary>netkey_client_config_init, as InitServerConfig.</summary>
  public static int InitClientConfig(out ClientConfig config) {
    return netkey_client_config_init_sized(out config, ClientConfigSize);
  }

  // ------------------------------------------------------------------ functions
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern IntPtr netkey_strerror(int code);
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern IntPtr netkey_version();
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern uint netkey_abi_version();

  // Writes struct_size bytes at most: pass the size of the struct behind `config`.
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern int netkey_server_config_init_sized(out ServerConfig config, uint struct_size);
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern int netkey_server_create(ref ServerConfig config, out NetkeyServerHandle server);
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern int netkey_server_poll(NetkeyServerHandle server, uint timeout_ms);
  // `ref data` is the first byte (the runtime pins it for the call); pass IntPtr.Zero
  // with size 0 for an empty payload.
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern int netkey_server_broadcast(NetkeyServerHandle server, ref byte data, UIntPtr size);
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern int netkey_server_broadcast(NetkeyServerHandle server, IntPtr data, UIntPtr size);
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern ushort netkey_server_port(NetkeyServerHandle server);
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern ulong netkey_server_epoch(NetkeyServerHandle server);
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern UIntPtr netkey_server_member_count(NetkeyServerHandle server);
  // Called by NetkeyServerHandle.ReleaseHandle only.
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  internal static extern void netkey_server_destroy(IntPtr server);

  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern int netkey_client_config_init_sized(out ClientConfig config, uint struct_size);
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern int netkey_client_create(ref ClientConfig config, out NetkeyClientHandle client);
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern int netkey_client_poll(NetkeyClientHandle client, uint timeout_ms);
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern int netkey_client_send(NetkeyClientHandle client, ref byte data, UIntPtr size);
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern int netkey_client_send(NetkeyClientHandle client, IntPtr data, UIntPtr size);
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern int netkey_client_leave(NetkeyClientHandle client);
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern ulong netkey_client_epoch(NetkeyClientHandle client);
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  public static extern uint netkey_client_member_id(NetkeyClientHandle client);
  // Called by NetkeyClientHandle.ReleaseHandle only.
  [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
  internal static extern void netkey_client_destroy(IntPtr client);
}

/// <summary>What NativeSession needs of a handle: to hand it the GCHandle passed as
/// callbacks.user, which the handle frees after netkey_*_destroy.</summary>
internal interface INetkeyHandle {
  GCHandle User { set; }
}

/// <summary>
/// Owns a netkey_server*: Dispose (or the finalizer) calls netkey_server_destroy, then
/// frees the GCHandle passed as callbacks.user, if any. A Dispose from inside a
/// callback takes effect when the poll returns: the runtime holds a reference on the
/// handle for the length of every P/Invoke call.
/// </summary>
public sealed class NetkeyServerHandle : SafeHandleZeroOrMinusOneIsInvalid, INetkeyHandle {
  GCHandle user_;  // the NetkeyServer's session (weak), freed after the destroy
  GCHandle INetkeyHandle.User { set { user_ = value; } }

  public NetkeyServerHandle() : base(true) {}

  protected override bool ReleaseHandle() {
    NetkeyNative.netkey_server_destroy(handle);
    if (user_.IsAllocated) user_.Free();
    return true;
  }
}

/// <summary>Owns a netkey_client*, as NetkeyServerHandle does a server.</summary>
public sealed class NetkeyClientHandle : SafeHandleZeroOrMinusOneIsInvalid, INetkeyHandle {
  GCHandle user_;
  GCHandle INetkeyHandle.User { set { user_ = value; } }

  public NetkeyClientHandle() : base(true) {}

  protected override bool ReleaseHandle() {
    NetkeyNative.netkey_client_destroy(handle);
    if (user_.IsAllocated) user_.Free();
    return true;
  }
}

}  // namespace Netkey
