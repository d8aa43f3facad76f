//! Freeing large values off the command path, on one background thread.

use parking_lot::Mutex;

/// Drops `garbage` on a background thread so freeing large values (UNLINK,
/// FLUSHALL ASYNC) does not hold up the command path.
pub fn free_in_background<T: Send + 'static>(garbage: T) {
    use std::sync::mpsc::{channel, Sender};
    use std::sync::OnceLock;
    type Garbage = Box<dyn Send>;
    static FREER: OnceLock<Option<Mutex<Sender<Garbage>>>> = OnceLock::new();
    let freer = FREER.get_or_init(|| {
        let (tx, rx) = channel::<Garbage>();
        std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                for item in rx {
                    drop(item);
                }
            })
            .ok()
            .map(|_| Mutex::new(tx))
    });
    match freer {
        Some(tx) => {
            // If the thread is gone, the value comes back and is dropped here.
            let _ = tx.lock().send(Box::new(garbage));
        }
        None => drop(garbage),
    }
}
