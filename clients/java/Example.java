import java.sql.*;
import java.util.Properties;

/* The session registry from JDBC (pgjdbc). Connects with PGHOST/PGPORT/PGDATABASE/PGUSER/PGPASSWORD. */
public class Example {
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(url(), props())) {
            // inet and jsonb from Java strings: cast the parameters
            long id;
            try (PreparedStatement ps = conn.prepareStatement("SELECT session.open_session(username => ?,"
                    + " project => ?, address => ?::inet, node => ?, attributes => ?::jsonb)")) {
                ps.setString(1, "billy");
                ps.setString(2, "MyProject");
                ps.setObject(3, "10.0.0.7");
                ps.setString(4, "gw-1");
                ps.setObject(5, "{\"locale\": \"de\"}");
                try (ResultSet rs = ps.executeQuery()) { rs.next(); id = rs.getLong(1); }
            }
            // arrays: createArrayOf
            try (PreparedStatement ps = conn.prepareStatement("SELECT session.heartbeat(?, ?, ?)")) {
                ps.setLong(1, id);
                ps.setLong(2, 2048);
                ps.setArray(3, conn.createArrayOf("text", new String[] {"/main", "/alarms"}));
                try (ResultSet rs = ps.executeQuery()) { rs.next(); System.out.println("heartbeat: " + rs.getBoolean(1)); }
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT session.heartbeat(?, ?)")) {
                ps.setArray(1, conn.createArrayOf("bigint", new Long[] {id, 999999L}));
                ps.setArray(2, conn.createArrayOf("bigint", new Long[] {100L, 7L}));
                try (ResultSet rs = ps.executeQuery()) { rs.next(); System.out.println("batch touched: " + rs.getLong(1)); }
            }
            // listing: whole-value regular expressions; inet and jsonb read as strings, text[] as an array
            try (PreparedStatement ps = conn.prepareStatement("SELECT id, username, address, page_ids, attributes"
                    + " FROM session.get_session_info(username_regex => ?)")) {
                ps.setString(1, "bi.*");
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String[] pages = (String[]) rs.getArray("page_ids").getArray();
                        System.out.println(rs.getLong("id") + " " + rs.getString("username") + " "
                                + rs.getString("address") + " " + String.join(",", pages) + " " + rs.getString("attributes"));
                    }
                }
            }
            // errors: getSQLState()
            try (PreparedStatement ps = conn.prepareStatement("SELECT session.get_session_user(?)")) {
                ps.setLong(1, 424242L);
                ps.executeQuery();
            } catch (SQLException e) {
                if (!"SE404".equals(e.getSQLState())) throw e;
                System.out.println("SE404: " + e.getMessage());
            }
            try (Statement st = conn.createStatement()) {
                st.execute("SET session.max_sessions_per_user = 1"); // a superuser setting, to provoke SE429
                st.executeQuery("SELECT session.open_session('billy', 'MyProject')");
            } catch (SQLException e) {
                if (!"SE429".equals(e.getSQLState())) throw e;
                System.out.println("SE429: " + e.getMessage());
            }
        }
    }

    static String url() {
        String host = System.getenv().getOrDefault("PGHOST", "localhost");
        return "jdbc:postgresql://" + (host.startsWith("/") ? "localhost" : host) + ":"
                + System.getenv().getOrDefault("PGPORT", "5432") + "/"
                + System.getenv().getOrDefault("PGDATABASE", "postgres");
    }

    static Properties props() {
        Properties props = new Properties();
        props.setProperty("user", System.getenv().getOrDefault("PGUSER", "postgres"));
        if (System.getenv("PGPASSWORD") != null) props.setProperty("password", System.getenv("PGPASSWORD"));
        return props;
    }
}
