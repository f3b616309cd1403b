import java.sql.*;
import java.util.Properties;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/* Following the registry's events from JDBC (a member of session_reader). */
public class Events {
    public static void main(String[] args) throws Exception {
        Properties props = Example.props();
        // with stringtype=unspecified, setString() works for inet and jsonb without casts
        props.setProperty("stringtype", "unspecified");
        try (Connection listener = DriverManager.getConnection(Example.url(), props);
             Connection writer = DriverManager.getConnection(Example.url(), props)) {
            // events: read the log with events_since(); NOTIFY session_events (no payload) only wakes us up
            try (Statement st = listener.createStatement()) { st.execute("LISTEN session_events"); }
            long last = readEvents(listener, 0);             // what happened so far
            try (PreparedStatement ps = writer.prepareStatement(
                    "SELECT session.open_session('ann', 'MyProject', address => ?, attributes => ?)")) {
                ps.setString(1, "10.0.0.8");
                ps.setString(2, "{\"locale\": \"fr\"}");
                ps.executeQuery().close();
            }
            PGNotification[] wakeUps = listener.unwrap(PGConnection.class).getNotifications(10000); // wait up to 10 s
            System.out.println("woken: " + (wakeUps == null ? 0 : wakeUps.length));
            readEvents(listener, last);                      // what woke us up
        }
    }

    static long readEvents(Connection conn, long after) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT event_id, event, id, username"
                + " FROM session.events_since(?, 1000)")) {
            ps.setLong(1, after);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    after = rs.getLong("event_id");
                    System.out.println("event " + rs.getString("event") + " " + rs.getString("username"));
                }
            }
        }
        return after;
    }
}
