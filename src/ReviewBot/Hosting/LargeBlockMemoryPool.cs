using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace ReviewBot.Hosting;

// Kestrel's memory in 32 KiB blocks instead of its default 4 KiB. The socket transport receives into
// one block per read, so a typical pull_request delivery (25-30 KB) took seven or eight recv calls,
// each with its pipe flush and parser pass; with 32 KiB blocks it is one. Measured with the intake
// benchmark: the service's CPU per delivery went from 263-304 to 224-243 µs (bench/RESULTS.md,
// webhook intake). Sockets wait for data before renting (Kestrel's default), so an idle keep-alive
// connection holds no block; at most RetainedBlocks are kept for reuse, the rest go to the GC.
internal sealed class LargeBlockMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new LargeBlockMemoryPool();
}

internal sealed class LargeBlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 32 * 1024;

    // 8 MiB: what a burst of a few hundred concurrent requests leaves behind.
    internal const int RetainedBlocks = 256;

    private readonly ConcurrentQueue<byte[]> _blocks = new();
    private int _retained;

    public override int MaxBufferSize => BlockSize;

    internal int Retained => Volatile.Read(ref _retained);

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
        {
            return new Block(null, GC.AllocateUninitializedArray<byte>(minBufferSize));
        }

        if (_blocks.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _retained);
        }
        else
        {
            // Pinned, as Kestrel's own pool is: the sockets read into it without pinning per call.
            block = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
        }

        return new Block(this, block);
    }

    private void Return(byte[] block)
    {
        if (Interlocked.Increment(ref _retained) <= RetainedBlocks)
        {
            _blocks.Enqueue(block);
        }
        else
        {
            Interlocked.Decrement(ref _retained);
        }
    }

    protected override void Dispose(bool disposing) => _blocks.Clear();

    private sealed class Block(LargeBlockMemoryPool? pool, byte[] array) : IMemoryOwner<byte>
    {
        private byte[]? _array = array;

        public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Block));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _array, null) is { } returned)
            {
                pool?.Return(returned);
            }
        }
    }
}
