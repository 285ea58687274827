using System.Buffers;
using System.Net.Sockets;
using InferenceServer.Core.Features.Sidecar;
using InferenceServer.FeatureSidecar.Stores;
using Microsoft.Extensions.Logging;

namespace InferenceServer.FeatureSidecar.Serving;

/// <summary>
/// One client connection: a read loop on a thread of the connection's own, waiting on the socket (see
/// <see cref="SidecarSocket"/>), that takes every whole frame off the buffer and starts their lookups there and then
/// (so a lookup's store read goes out on the thread the kernel woke, and the reads of frames that came together go out
/// as one pipelined batch), and answers written as they complete, in any order, one frame at a time under a lock. The
/// last writer waiting sends, so answers that complete together share a send. In-flight lookups are bounded; a frame
/// that breaks the wire format is refused and the connection closed once the lookups already started have been answered.
/// </summary>
internal sealed class SidecarConnection
{
    // A send waits only while the client reads nothing at all (its reader drains the socket); past this the client
    // counts as gone and the connection is closed, so that it connects again.
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(30);

    // How soon the blocked reader sees a stop while nothing comes.
    private static readonly TimeSpan StopCheck = TimeSpan.FromMilliseconds(200);

    private readonly SidecarSocket _connection;
    private readonly StoreGuard _store;
    private readonly SidecarMetrics _metrics;
    private readonly ILogger _logger;
    private readonly int _maxInFlight;
    private readonly Lock _writeLock = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Lookups and answers not yet written, plus one for the read loop itself, so that it reaches 0 only after the
    // loop has ended and everything started has been answered.
    private int _pending = 1;
    private int _waitingWriters;
    private volatile bool _broken;
    private volatile bool _stopRequested;
    private uint? _frameId;

    public SidecarConnection(Socket socket, StoreGuard store, SidecarMetrics metrics, ILogger logger, int maxInFlight)
    {
        _connection = new SidecarSocket(socket, SendTimeout, StopCheck);
        _store = store;
        _metrics = metrics;
        _logger = logger;
        _maxInFlight = maxInFlight;
    }

    /// <summary>Serves the connection until the client closes it, breaks the protocol, or <see cref="Stop"/>.</summary>
    public async Task RunAsync()
    {
        _metrics.ConnectionOpened();
        try
        {
            await SidecarSocket.StartReader(ReadLoop, "feature-sidecar connection").ConfigureAwait(false);
        }
        finally
        {
            Release();
            // Bounded: every lookup has a deadline (at most a minute) and then answers.
            await _drained.Task.ConfigureAwait(false);
            _connection.Dispose();
            _metrics.ConnectionClosed();
        }
    }

    /// <summary>
    /// Stops reading new frames (the reader sees it within <see cref="StopCheck"/>); the lookups already started are
    /// still answered. The socket is not shut down for reading: the client may still send, and must not see its writes
    /// fail while its lookups are answered.
    /// </summary>
    public void Stop() => _stopRequested = true;

    // Returns once the client closed, broke the protocol, or a stop was asked for; the result only ends the task.
    private bool ReadLoop()
    {
        while (!_stopRequested)
        {
            try
            {
                if (!_connection.Receive())
                {
                    return true;
                }
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                // Nothing came within StopCheck: look at _stopRequested again.
                continue;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return true;
            }
            var buffer = _connection.Buffered;
            try
            {
                while (!_stopRequested)
                {
                    // A frame refused before its id is read is refused without an answer (the contract: close).
                    _frameId = null;
                    if (!SidecarFrames.TryReadFrame(ref buffer, out var body))
                    {
                        break;
                    }
                    Dispatch(body);
                }
            }
            catch (SidecarProtocolException e)
            {
                _metrics.ProtocolError();
                SidecarLog.ProtocolError(_logger, e.Message);
                if (_frameId is { } id)
                {
                    Send((Id: id, Message: e.Message), static (output, s) => SidecarMessages.WriteProtocolError(output, s.Id, s.Message));
                }
                return true;
            }
            _connection.Consume(buffer);
        }
        return true;
    }

    private void Dispatch(in ReadOnlySequence<byte> body)
    {
        var kind = SidecarMessages.ReadHeader(body, out var id);
        _frameId = id;
        switch (kind)
        {
            case SidecarMessageKind.Ping:
                SidecarMessages.ReadPing(body);
                Send(id, static (output, pingId) => SidecarMessages.WritePing(output, pingId));
                break;
            case SidecarMessageKind.Lookup:
                Start(SidecarMessages.ReadLookup(body));
                break;
            case SidecarMessageKind.ProtocolError:
                var message = SidecarMessages.ReadProtocolError(body, out _);
                SidecarLog.ClientProtocolError(_logger, message);
                _stopRequested = true;
                break;
            default:
                throw new SidecarProtocolException($"the feature sidecar takes pings (kind 0) and lookups (kind 1); a message of kind {(byte)kind} came");
        }
    }

    private void Start(SidecarLookup lookup)
    {
        if (Problem(lookup) is { } problem)
        {
            Fail(lookup, SidecarStatus.BadRequest, problem);
            return;
        }
        // Pending counts the read loop's own share too.
        if (Volatile.Read(ref _pending) - 1 >= _maxInFlight)
        {
            Fail(lookup, SidecarStatus.Overloaded,
                $"this connection has {_maxInFlight} lookups in flight, the most the feature sidecar allows per connection (--max-in-flight)");
            return;
        }
        Track(LookupAsync(lookup));
    }

    private async Task LookupAsync(SidecarLookup lookup)
    {
        var outcome = await _store.ReadAsync(lookup).ConfigureAwait(false);
        _metrics.Answered(lookup.View, outcome.Status, lookup.Keys.Length);
        if (outcome.Rows is { } rows)
        {
            Send((Lookup: lookup, Rows: rows), static (output, s) => WriteRows(output, s.Lookup, s.Rows));
        }
        else
        {
            Send((lookup.Id, outcome.Status, outcome.Message),
                static (output, s) => SidecarMessages.WriteLookupFailure(output, s.Id, s.Status, s.Message));
        }
    }

    private void Fail(SidecarLookup lookup, SidecarStatus status, string message)
    {
        _metrics.Answered(lookup.View, status, lookup.Keys.Length);
        Send((lookup.Id, Status: status, Message: message), static (output, s) => SidecarMessages.WriteLookupFailure(output, s.Id, s.Status, s.Message));
    }

    /// <summary>What is wrong with a well-formed lookup, which it is answered with (status 3); null when nothing is.</summary>
    private static string? Problem(SidecarLookup lookup)
    {
        if (lookup.TimeoutMilliseconds == 0)
        {
            return "timeout_ms is 0; a lookup needs a deadline of at least 1 ms";
        }
        if (lookup.Fields.Length == 0)
        {
            return $"the lookup for view '{lookup.View}' asks for no fields; expected the view's store fields";
        }
        foreach (var field in lookup.Fields)
        {
            if (field.Length == 0 || field == StoreLayout.StoredAtField)
            {
                return field.Length == 0
                    ? $"the lookup for view '{lookup.View}' asks for a field with an empty name"
                    : $"the lookup for view '{lookup.View}' asks for '{StoreLayout.StoredAtField}', which the store reserves for the write time (each row carries it)";
            }
        }
        foreach (var key in lookup.Keys)
        {
            if (key.Length == 0)
            {
                return $"the lookup for view '{lookup.View}' has an empty store key";
            }
        }
        return null;
    }

    private static void WriteRows(IBufferWriter<byte> output, SidecarLookup lookup, StoreRows rows)
    {
        // Not a using declaration: that would make the writer read-only, and every call would act on a copy.
        var writer = new SidecarLookupResultWriter(output, lookup.Id, rows.StoredAt.Length);
        try
        {
            for (var row = 0; row < rows.StoredAt.Length; row++)
            {
                writer.BeginRow(rows.StoredAt[row], rows.FieldCount);
                for (var field = 0; field < rows.FieldCount; field++)
                {
                    if (rows.Values[row * rows.FieldCount + field] is { } value)
                    {
                        writer.WriteValue(value.Span);
                    }
                    else
                    {
                        writer.WriteMissing();
                    }
                }
            }
            writer.Complete();
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>
    /// Writes one frame under the write lock, on the caller's thread (the reader's, or the one that completed the store
    /// read: no hand-over on the way out); the last writer waiting sends what the others wrote too.
    /// </summary>
    private void Send<TState>(TState state, Action<IBufferWriter<byte>, TState> write)
    {
        Interlocked.Increment(ref _waitingWriters);
        lock (_writeLock)
        {
            var last = Interlocked.Decrement(ref _waitingWriters) == 0;
            if (_broken)
            {
                return;
            }
            try
            {
                write(_connection.Output, state);
                if (last)
                {
                    _connection.Send();
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The client went away, or read nothing for SendTimeout: part of a frame may have gone, so the
                // connection cannot go on. Shut down, the client sees it closed (and reconnects) and the read loop ends.
                // Answers still pending are dropped.
                _broken = true;
                Stop();
                try
                {
                    _connection.Socket.Shutdown(SocketShutdown.Both);
                }
                catch (Exception again) when (again is SocketException or ObjectDisposedException)
                {
                    // Gone already.
                }
            }
        }
    }

    /// <summary>Counts <paramref name="work"/> as pending until it ends; logs it if it fails (it never should).</summary>
    private void Track(Task work)
    {
        Interlocked.Increment(ref _pending);
        if (work.IsCompleted)
        {
            Finished(work);
            return;
        }
        work.ContinueWith(static (task, state) => ((SidecarConnection)state!).Finished(task), this, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void Finished(Task work)
    {
        if (work.IsFaulted)
        {
            SidecarLog.LookupCrashed(_logger, work.Exception!.GetBaseException());
            _broken = true;
            Stop();
        }
        Release();
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _pending) == 0)
        {
            _drained.TrySetResult();
        }
    }
}
