using ReviewBot.Hosting;

namespace ReviewBot.Tests.Hosting;

public sealed class LargeBlockMemoryPoolTests
{
    [Fact]
    public void A_returned_block_is_handed_out_again()
    {
        using var pool = new LargeBlockMemoryPool();
        var first = pool.Rent();
        Assert.Equal(LargeBlockMemoryPool.BlockSize, first.Memory.Length);
        var memory = first.Memory;
        first.Dispose();
        first.Dispose(); // a second dispose returns nothing twice

        Assert.Equal(1, pool.Retained);
        using var second = pool.Rent(100);
        Assert.True(second.Memory.Span.Overlaps(memory.Span));
        Assert.Equal(0, pool.Retained);
        using var third = pool.Rent(100);
        Assert.False(third.Memory.Span.Overlaps(memory.Span));
    }

    [Fact]
    public void A_block_larger_than_the_pool_size_is_exact_and_not_kept()
    {
        using var pool = new LargeBlockMemoryPool();
        var large = pool.Rent(LargeBlockMemoryPool.BlockSize + 1);
        Assert.Equal(LargeBlockMemoryPool.BlockSize + 1, large.Memory.Length);
        large.Dispose();
        Assert.Equal(0, pool.Retained);
    }

    [Fact]
    public void Memory_of_a_returned_block_cannot_be_used()
    {
        using var pool = new LargeBlockMemoryPool();
        var block = pool.Rent();
        block.Dispose();
        Assert.Throws<ObjectDisposedException>(() => block.Memory);
    }

    [Fact]
    public void At_most_the_retained_number_of_blocks_is_kept_after_a_burst()
    {
        using var pool = new LargeBlockMemoryPool();
        var burst = Enumerable.Range(0, LargeBlockMemoryPool.RetainedBlocks + 50).Select(_ => pool.Rent()).ToList();
        burst.ForEach(b => b.Dispose());
        Assert.Equal(LargeBlockMemoryPool.RetainedBlocks, pool.Retained);
    }
}
