// The node-redis hash lesson from the project's seed material, made runnable:
// HSET two fields, HGETALL, HDEL one field, HGETALL again.
//
// Run: REDIS_PORT=6379 node hash_lesson.mjs   (node-redis 6, its RESP3 default)
import { createClient } from 'redis';

const port = process.env.REDIS_PORT ?? '6379';
const client = createClient({ url: `redis://127.0.0.1:${port}` });

client.on('error', err => console.error('Redis Client Error', err));

await client.connect();

try {
    // Using hashes to store and retrieve fields and values
    await client.hSet('user:1000', 'username', 'alice');
    await client.hSet('user:1000', 'email', 'alice@example.com');

    // `let`, not `const`: the lesson reads the hash a second time.
    let user = await client.hGetAll('user:1000');
    console.log('User details:', user);

    const username = await client.hGet('user:1000', 'username');
    console.log('Username:', username);

    await client.hDel('user:1000', 'username');
    user = await client.hGetAll('user:1000');
    console.log('User details:', user);
} catch (err) {
    console.error('Error:', err);
} finally {
    // Disconnect from Redis
    await client.close();
}
